"""`sysai trio bench`: the lab's performance note, measured side by side in one run.

1. cold start at 20 ms RTT / 200 Mbit/s: trio vs full and vs lazy-flat (FlacIO abstract: up to
   23× and 4.6×; aim ≥ 5× and ≥ 2×), bytes fetched as a fraction of the image (Slacker: 6.4 %);
2. runtime-cache memory of N containers, shared vs private;
3. FUSE mount options: warm read throughput and warm start through the mount vs the same files
   read natively (Nydus FUSE ≈ 0.70× ext4): libfuse defaults, `kernel_cache`, long timeouts, the
   chosen options (+ zero-message opens, :mod:`trio_lab.fuseops`), bigger reads, the chosen
   options on libfuse 2 (which cannot skip opens), and on fusepy (when fusepy is importable);
4. a stale trace: the start imports more than the trace recorded (miss rate, time);
5. two different images on one base (`together`): what the host page cache holds with a mount
   per image vs overlay roots over one content-addressed mount (:mod:`trio_lab.overlay`);
6. the ceiling: no loader can start faster than the same start on a warm local disk, so
   full / native-warm bounds every "trio vs full" ratio on this machine.
"""

from __future__ import annotations

import importlib.util
import os
import time
from ctypes.util import find_library
from dataclasses import dataclass, field
from pathlib import Path

from sysai.config import option
from sysai.http import serve_in_thread
from sysai.results import to_jsonable, write_csv
from trio_lab.experiments import CompareConfig, TogetherConfig, compare, record_trace, together
from trio_lab.mounts import FuseOptions, MountDaemon, passthrough_available, scratch
from trio_lab.blobserver import make_app
from trio_lab.report import plot_bench
from trio_lab.startup import cold_start
from trio_lab.store import Manifest, add_runtime, materialize
from trio_lab.workload import SITE, get_workload, run_start


@dataclass
class BenchConfig:
    workload: str = option("numpy", "the real start (numpy, numpy-slim, yaml)")
    rtt_ms: float = option(20.0, "registry RTT (ms)")
    bandwidth_mbps: float = option(200.0, "registry bandwidth (Mbit/s)")
    containers: int = option(8, "containers for the shared-vs-private cache memory")
    repeats: int = option(7, "warm runs per FUSE variant, natively and mounted (the fastest counts)")
    starts: int = option(3, "cold starts per loader at the main link, interleaved; the median is reported")
    links: list = option([[2.0, 1000.0], [20.0, 50.0]], "more links [rtt_ms, bandwidth_mbps] timed side by side")
    together: list = option(["numpy-slim", "matplotlib"], "two images on one base for the cross-image page cache "
                                                          "([]: skip)")
    host_counts: list = option([1, 2, 4, 8], "container counts for the host page cache")
    drop_caches: bool = option(True, "drop the machine's clean page cache between host-cache runs (when allowed)")


@dataclass
class BenchResults:
    workload: str
    mode: str
    compare: dict
    fuse_options: list[dict]
    stale: dict
    together: dict = field(default_factory=dict)
    rows: list[list] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


def run_bench(cfg: BenchConfig, out: Path, seed: int) -> BenchResults:
    workload = get_workload(cfg.workload)
    main = compare(CompareConfig(workload=cfg.workload, rtt_ms=cfg.rtt_ms, bandwidth_mbps=cfg.bandwidth_mbps,
                                 containers=cfg.containers, sweep_rtt_ms=[], sweep_bandwidth_mbps=[],
                                 links=[list(link) for link in cfg.links], host_counts=list(cfg.host_counts),
                                 drop_caches=cfg.drop_caches, starts=cfg.starts), out / "compare", seed)
    store = out / "compare" / "image"
    fuse = main.loaders["trio"].fuse
    options = measure_fuse_options(store, workload, cfg.repeats) if fuse else []
    stale = stale_trace(store, workload, fuse, cfg)
    pair = (to_jsonable(together(TogetherConfig(workloads=list(cfg.together), rtt_ms=cfg.rtt_ms,
                                                bandwidth_mbps=cfg.bandwidth_mbps), out / "together", seed))
            if fuse and cfg.together else {})
    res = BenchResults(workload.name, main.mode, to_jsonable(main), options, stale, pair)
    res.rows = headline_rows(main, cfg) + ceiling_rows(main, options) + together_rows(pair) + fuse_rows(options) + [
        ["stale trace: trio miss rate (bytes)", stale["stale_miss_rate"], "fresh trace: ~0"],
        ["stale trace: time to ready trio (s)", stale["stale_trio_s"], f"fresh trace {stale['fresh_trio_s']:.2f} s"],
        ["stale trace: time to ready lazy-flat (s)", stale["lazy_flat_s"], "—"],
    ]
    write_csv(out / "fuse_options.csv", options)
    res.figures = [str(p) for p in main.figures] + [str(p) for p in plot_bench(res, out)]
    return res


AIMS = {"full": "≥ 15× (FlacIO: up to 23×)", "lazy-flat": "≥ 4.6× (FlacIO's figure)",
        "lazy-prefetch": "≥ 1.5× (the fair Nydus)"}


def headline_rows(main, cfg: BenchConfig) -> list[list]:
    """Per link: every loader's time to ready, bytes and requests, and trio's ratio to each."""
    rows = []
    links = [(main.rtt_ms, main.bandwidth_mbps, {n: vars(r) for n, r in main.loaders.items()})]
    for rtt, bw in cfg.links:
        points = {p["loader"]: p for p in main.sweep if p["axis"] == "link" and p["rtt_ms"] == rtt
                  and p["bandwidth_mbps"] == bw}
        links.append((rtt, bw, points))
    for i, (rtt, bw, by_loader) in enumerate(links):
        link = f"{rtt:g} ms / {bw:g} Mbit/s"
        trio = by_loader.get("trio")
        for name, r in by_loader.items():
            runs = r.get("time_to_ready_runs_s") or []
            how = f"median of {len(runs)} starts: " + ", ".join(f"{t:.2f}" for t in runs) if i == 0 and len(runs) > 1 \
                else "one start"
            rows.append([f"{link}: {name} time to ready (s) / MB / requests",
                         f"{r['time_to_ready_s']:.2f} / {r['bytes_fetched'] / 1e6:.1f} / {r['requests']}",
                         f"{'compressed image' if main.loaders[name].stats.get('decompress_s') is not None else '—'}; "
                         f"{how}"])
        for name, r in by_loader.items():
            if trio and name != "trio":
                rows.append([f"{link}: time to ready {name} / trio", r["time_to_ready_s"] / trio["time_to_ready_s"],
                             AIMS.get(name, "—")])
    L, c = main.loaders, main.cooperative
    rows += [
        ["trio bytes fetched / image", L["trio"].fraction_of_image, "Slacker: 6.4 % of the image read at start"],
        [f"daemon runtime cache, {c['containers']} containers, shared / private (MB)",
         f"{c['page_cache_bytes_shared'] / 1e6:.1f} / {c['page_cache_bytes_private'] / 1e6:.1f}", "one copy vs N"],
    ]
    host = c.get("host", {})
    if not host.get("available"):
        rows.append(["host page cache", "not available", host.get("why", "")])
        return rows
    for run in host["runs"]:
        rows.append([f"host page cache, {run['containers']} containers, {run['mode']} (MB, {host['cgroup']})",
                     run["cgroup_bytes"] / 1e6, f"fincore {run['resident_bytes'] / 1e6:.1f} MB"
                     if run["resident_bytes"] is not None else "no fincore"])
    b = host["host_cache_bytes"]
    rows += [
        [f"host page cache, {host['containers']} containers: shared mount / one container", b["shared"] / b["one"],
         "≤ 1.3×"],
        [f"host page cache, {host['containers']} containers: private mounts / one container", b["private"] / b["one"],
         f"{host['containers']}× (one copy per mount)"],
        [f"host page cache, {host['containers']} containers: native disk / one container (FUSE)",
         b["native"] / b["one"],
         f"disk readahead {host['read_ahead_kb']['native']} KiB vs FUSE 128 KiB"],
    ]
    return rows


def ceiling_rows(main, options: list[dict]) -> list[list]:
    """How fast any loader could be here. The same start on a warm local disk bounds every loader;
    a cold start through the FUSE mount with every byte already in the daemon (the `full` mount
    of the chosen options, no network) bounds every loader of this Python FUSE daemon."""
    native = min((o["native_start_s"] for o in options if "native_start_s" in o), default=None)
    chosen = next((o for o in options if o["variant"].startswith("chosen (") and "cold_start_s" in o), None)
    if native is None or "full" not in main.loaders:
        return []
    full = main.loaders["full"].time_to_ready_s
    rows = [["native start, warm local disk (s)", native, "the floor for any loader"],
            ["ceiling on any speed-up vs full: full / native start", full / native, "—"]]
    if chosen is not None:
        rows += [["cold start through FUSE, every byte already in the daemon (s)", chosen["cold_start_s"],
                  "the floor for any loader of this FUSE daemon"],
                 ["ceiling on a FUSE loader's speed-up vs full: full / that floor", full / chosen["cold_start_s"],
                  "trio vs full cannot exceed this here"]]
    return rows


def together_rows(pair: dict) -> list[list]:
    """Two images on one base: host page cache with a mount per image vs one content mount."""
    runs = pair.get("runs", {})
    if not runs:
        return []
    names = " + ".join(pair["workloads"])
    if "content" not in runs or not runs["shared"]["host"].get("available"):
        return [[f"{names}: host page cache across images", "not available",
                 pair.get("content_why") or runs["shared"]["host"].get("why", "")]]
    per_image, content = (sum(runs[k]["host"]["cgroup_bytes"]) for k in ("shared", "content"))
    return [
        [f"{names}: host page cache, a mount per image / one content mount (MB)",
         f"{per_image / 1e6:.1f} / {content / 1e6:.1f}",
         f"{pair['traced_common_bytes'] / 1e6:.1f} MB of the first start's reads are common files"],
        [f"{names}: host page cache, content mount / a mount per image", content / per_image, "< 1: one copy"],
        [f"{names}: time to ready, content mount / a mount per image",
         runs["content"]["time_to_ready_s"] / runs["shared"]["time_to_ready_s"], "metadata trees built at start"],
    ]


def fuse_rows(options: list[dict]) -> list[list]:
    ok, why = passthrough_available()
    rows = [] if ok else [["FUSE passthrough", "not available", why]]
    for o in options:
        rows.append([f"FUSE warm read-all / native ({o['variant']})", o.get("warm_read_vs_native"),
                     "Nydus FUSE ≈ 0.70× ext4"])
        rows.append([f"FUSE warm read, files ≥ 256 KiB / native ({o['variant']})", o.get("warm_big_read_vs_native"),
                     "throughput only"])
        rows.append([f"FUSE warm start / native ({o['variant']})", o.get("warm_start_vs_native"), "—"])
    return rows


LIBFUSE2 = find_library("fuse") or ""  # a soname such as libfuse.so.2; mfusepy CDLL()s it
PER_FILE_OPENS = {"zero_message_open": False}  # every open() a round trip to the daemon, as libfuse does
VARIANTS = [  # (name, options, environment of the mount daemon)
    ("libfuse defaults", FuseOptions(kernel_cache=False, attr_timeout=1.0, entry_timeout=1.0, negative_timeout=0.0,
                                     **PER_FILE_OPENS), {}),
    ("kernel_cache", FuseOptions(kernel_cache=True, attr_timeout=1.0, entry_timeout=1.0, negative_timeout=0.0,
                                 **PER_FILE_OPENS), {}),
    ("kernel_cache, 60 s timeouts", FuseOptions(**PER_FILE_OPENS), {}),
    ("chosen (kernel_cache, 60 s timeouts, zero-message opens)", FuseOptions(), {}),
    ("chosen + 1 MiB reads/readahead", FuseOptions(max_read=1 << 20, max_readahead=1 << 20, read_ahead_kb=1024), {}),
    ("chosen on libfuse 2 (no zero-message opens there)", FuseOptions(), {"FUSE_LIBRARY_PATH": LIBFUSE2}),
    ("chosen + fusepy", FuseOptions(), {"TRIO_FUSE_BINDING": "fuse"}),
]


def _available(env: dict) -> bool:
    """libfuse3 only where installed; fusepy only if importable (its module is called `fuse`)."""
    if "FUSE_LIBRARY_PATH" in env:
        return bool(env["FUSE_LIBRARY_PATH"])
    if "TRIO_FUSE_BINDING" in env:
        spec = importlib.util.find_spec(env["TRIO_FUSE_BINDING"])
        return spec is not None and spec.origin is not None and any(Path(spec.origin).parent.glob("fusepy-*.dist-info"))
    return True


def measure_fuse_options(store: Path, workload, repeats: int = 7) -> list[dict]:
    """Warm start and warm read-all through a `full` mount (no network) vs the same tree natively."""
    manifest = Manifest.load(store)
    rows = []
    with scratch("native") as tmp:
        root = materialize(store, manifest, Path(tmp) / "root")
        os.sync()  # no writeback of the fresh copy during the native measurements
        nbytes = _read_all(root)
        big = {os.path.relpath(p, root) for p in _files(root) if os.path.getsize(p) >= BIG}
        with serve_in_thread(make_app(store)) as url:
            for name, options, env in VARIANTS:
                if not _available(env):
                    continue
                row = {"variant": name, **vars(options), "env": " ".join(f"{k}={v}" for k, v in env.items())}
                try:
                    with MountDaemon(store, url, "full", options=options, env=env) as daemon:
                        info = daemon.go()
                        row["libfuse"], row["opens_skipped"] = info["libfuse"], info["zero_message_open"]
                        mnt = Path(daemon.mountpoints[0])
                        started = time.perf_counter()
                        run_start(workload, str(mnt))
                        row["cold_start_s"] = time.perf_counter() - started
                        started = time.perf_counter()
                        if _read_all(mnt) != nbytes:
                            raise RuntimeError("the mount served a different number of bytes than the tree")
                        row["cold_read_MBps"] = nbytes / 1e6 / (time.perf_counter() - started)
                        # warm: FUSE and native alternate, so both see the same machine load
                        row["warm_start_s"], row["native_start_s"] = _best_pair(
                            lambda: run_start(workload, str(mnt)), lambda: run_start(workload, str(root)), repeats)
                        fuse_s, native_s = _best_pair(lambda: _read_all(mnt), lambda: _read_all(root), max(repeats - 2,
                                                                                                           1))
                        row["warm_read_MBps"], row["native_read_MBps"] = nbytes / 1e6 / fuse_s, nbytes / 1e6 / native_s
                        # big files only: bytes per second once per-file open/close round trips stop dominating
                        fuse_s, native_s = _best_pair(lambda: _read_all(mnt, big), lambda: _read_all(root, big),
                                                      max(repeats - 2, 1))
                        row["warm_big_read_vs_native"] = native_s / fuse_s
                except Exception as exc:  # one variant failing (e.g. libfuse3 ABI) is a result too
                    row["error"] = f"{type(exc).__name__}: {exc}"
                    rows.append(row)
                    continue
                row["warm_read_vs_native"] = row["warm_read_MBps"] / row["native_read_MBps"]
                row["warm_start_vs_native"] = row["native_start_s"] / row["warm_start_s"]
                rows.append(row)
    return rows


def _best_pair(first, second, repeats: int) -> tuple[float, float]:
    """Fastest of `repeats` runs of each, run alternately (shared machines drift)."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best[0], best[1]


BIG = 256 * 1024  # "big file" for the throughput-only ratio


def _files(root: Path) -> list[str]:
    return [os.path.join(d, n) for d, _, names in os.walk(Path(root) / SITE) for n in names
            if not os.path.islink(os.path.join(d, n))]


def _read_all(root: Path, only: set[str] | None = None) -> int:
    total = 0
    for dirpath, _, files in os.walk(Path(root) / SITE):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or (only is not None and os.path.relpath(path, root) not in only):
                continue
            with open(path, "rb", buffering=0) as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total


def stale_trace(store: Path, workload, fuse: bool, cfg: BenchConfig) -> dict:
    """Start B (`stale_start`) with the runtime image traced from start A, then with a fresh one."""
    manifest = Manifest.load(store)
    stale_reads = record_trace(store, manifest, workload, fuse)  # trace of start A
    fresh_reads = record_trace(store, manifest, workload, fuse, modules=workload.stale_start)
    out = {"trace_start": workload.start, "actual_start": workload.stale_start}

    def run(loader: str, reads):
        with serve_in_thread(make_app(store, cfg.rtt_ms, cfg.bandwidth_mbps)) as url:
            return cold_start(store, url, loader, workload, fuse=fuse, reads=reads, modules=workload.stale_start)

    for label, reads in (("stale", stale_reads), ("fresh", fresh_reads)):
        add_runtime(store, manifest, reads)
        manifest = Manifest.load(store)
        r = run("trio", fresh_reads)
        st = r.loader_stats[0]
        out[f"{label}_trio_s"] = r.time_to_ready_s
        out[f"{label}_miss_rate"] = st["miss_bytes"] / max(1, st["miss_bytes"] + st["hit_bytes"])
        out[f"{label}_bytes_fetched"] = r.bytes_fetched
        out[f"{label}_requests"] = r.requests
    out["lazy_flat_s"] = run("lazy-flat", fresh_reads).time_to_ready_s
    add_runtime(store, manifest, stale_reads)  # leave the image as compare built it
    return out


