"""Lab 1 · TrIO, plugged into `sysai`: the command group and the tour's headline comparison."""

from __future__ import annotations

from pathlib import Path

from sysai.catalog import Lab
from trio_lab.cli import app


def tour(ctx):
    """Cold start of a small real image (PyYAML) under each loader, mounted with FUSE if possible."""
    from sysai.tour import TourSection
    from trio_lab.experiment import CompareConfig, compare, table

    cfg = CompareConfig(workload="yaml", containers=2, sweep_rtt_ms=[0.0, 50.0] if not ctx.quick else [],
                        sweep_bandwidth_mbps=[])
    res = compare(cfg, ctx.out, ctx.seed)
    columns, rows = table(res)
    s = res.speedup
    summary = (f"{res.mode}. Image {res.image_bytes / 1e6:.1f} MB, {100 * res.trace_bytes / res.image_bytes:.1f} % "
               f"read at start. trio is {s.get('trio_vs_full', float('nan')):.1f}× faster than full and "
               f"{s.get('trio_vs_lazy-flat', float('nan')):.1f}× faster than lazy-flat at {res.rtt_ms:g} ms RTT, "
               f"{res.bandwidth_mbps:g} Mbit/s; {res.cooperative['containers']} containers share "
               f"{res.cooperative.get('cache_bytes_shared', 0) / 1e6:.2f} MB of runtime cache instead of "
               f"{res.cooperative.get('cache_bytes_private', 0) / 1e6:.2f} MB.")
    return TourSection("TrIO: cold start per image loader", summary, columns, rows, [Path(f) for f in res.figures],
                       {"image_bytes": res.image_bytes, "speedup": res.speedup,
                        "loaders": {n: {"time_to_ready_s": r.time_to_ready_s, "bytes_fetched": r.bytes_fetched,
                                        "requests": r.requests, "fuse": r.fuse} for n, r in res.loaders.items()}})


LAB = Lab(app=app, tour=tour, registries=("trio_lab.loaders.base:LOADERS", "trio_lab.evictions.base:EVICTIONS"))
