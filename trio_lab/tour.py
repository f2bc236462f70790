"""The TrIO lab's section of `sysai tour`: a real-package start under every default loader.

A *measurement* of real components (a FUSE mount, an HTTP registry with an emulated link,
`python -c "import numpy"`, the kernel's page-cache counters), not a simulation. Assumptions:
20 ms RTT, 200 Mbit/s, the compressed image, this (shared, busy) machine.
"""

from __future__ import annotations

from pathlib import Path

TOUR_WORKLOAD = "numpy-slim"  # NumPy + its OpenBLAS: the talk's shape (most of the image unread) at tour scale


def tour(ctx):
    """Cold start of a real NumPy environment under each default loader; host page cache of 2 containers."""
    from sysai.tour import TourSection
    from trio_lab.experiments import CompareConfig, compare
    from trio_lab.report import table

    # --quick (CI, a first look): the small PyYAML image, same loaders, same measurements
    cfg = CompareConfig(workload="yaml" if ctx.quick else TOUR_WORKLOAD, containers=2, sweep_rtt_ms=[],
                        sweep_bandwidth_mbps=[])
    res = compare(cfg, ctx.out, ctx.seed)
    columns, rows = table(res)
    s, c = res.speedup, res.cooperative
    host = c.get("host", {})
    if host.get("available"):
        b = host["host_cache_bytes"]
        kernel = (f" Host page cache (kernel counters) of {c['containers']} containers: {b['private'] / 1e6:.1f} MB on "
                  f"private mounts, {b['shared'] / 1e6:.1f} MB on one shared mount "
                  f"(one container: {b['one'] / 1e6:.1f} MB).")
    else:
        kernel = f" Host page cache: not available ({host.get('why', '?')})."
    trio_share = 100 * res.loaders["trio"].fraction_of_image if "trio" in res.loaders else float("nan")
    summary = (f"{res.mode}; measured, not simulated. Image {res.image_bytes / 1e6:.1f} MB compressed; the start "
               f"reads {res.trace_bytes / 1e6:.1f} MB, trio fetches {trio_share:.1f} % of the image. "
               f"At {res.rtt_ms:g} ms RTT, "
               f"{res.bandwidth_mbps:g} Mbit/s trio is {s.get('trio_vs_full', float('nan')):.1f}× faster than full, "
               f"{s.get('trio_vs_lazy-flat', float('nan')):.1f}× than lazy-flat and "
               f"{s.get('trio_vs_lazy-prefetch', float('nan')):.1f}× than the fair Nydus (lazy-prefetch).{kernel}")
    return TourSection("TrIO: cold start per image loader", summary, columns, rows, [Path(f) for f in res.figures],
                       {"image_bytes": res.image_bytes, "speedup": res.speedup,
                        "host_cache_bytes": c.get("host_cache_bytes"),
                        "loaders": {n: {"time_to_ready_s": r.time_to_ready_s, "bytes_fetched": r.bytes_fetched,
                                        "requests": r.requests, "fuse": r.fuse} for n, r in res.loaders.items()}})
