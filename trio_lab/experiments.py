"""`sysai trio compare`: cold start of one real workload under every loader, over a WAN-like link.

Steps: build the image in all formats from this interpreter's site-packages; record the
startup trace once (the FUSE daemon logs every read of a real start under `full` on an
unthrottled link); build the TrIO runtime image from it; then, with the registry emulating
``rtt_ms`` and ``bandwidth_mbps``, time a cold start per loader (in a seeded random order),
``containers`` concurrent starts sharing vs not sharing the runtime cache, and a sweep.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sysai.config import option
from sysai.errors import UserError
from sysai.http import serve_in_thread
from sysai.results import write_csv
from sysai.seeding import py_random
from trio_lab.evictions.base import EVICTIONS
from trio_lab.fetch import BlobClient
from trio_lab.loaders.base import LOADERS
from trio_lab.mounts import FuseOptions, MountDaemon, fuse_available, scratch
from trio_lab.blobserver import make_app
from trio_lab.report import plot
from trio_lab.startup import StartResult, cold_start
from trio_lab.store import Manifest, add_runtime, materialize
from trio_lab.trace import Read, read_trace, write_trace
from trio_lab.workload import Workload, cached_image, get_workload, native_trace, run_start



@dataclass
class CompareConfig:
    workload: str = option("numpy", "which real start to run (numpy, numpy-slim, yaml)")
    rtt_ms: float = option(20.0, "registry round-trip time in ms")
    bandwidth_mbps: float = option(200.0, "registry link bandwidth in Mbit/s")
    containers: int = option(4, "containers started together for the cooperative-cache measurement")
    loaders: list = option([], "loaders to compare (empty: every loader registered with default=True)")
    sweep_rtt_ms: list = option([0.0, 5.0, 20.0, 50.0], "RTTs of the sweep (at --bandwidth-mbps)")
    sweep_bandwidth_mbps: list = option([50.0, 200.0, 1000.0], "bandwidths of the sweep (at --rtt-ms)")
    fuse: str = option("auto", "auto: mount when FUSE works; off: in-process replay")
    cache_mb: float = option(0.0, "runtime page cache capacity in MB (0: unlimited)")
    eviction: str = option("lru", "eviction policy when the cache is capped (fifo, lru, ...)")
    trace_file: str = option("", "use this recorded trace instead of recording one")
    plugin_options: dict = option({}, "per-plugin options: {loader or eviction name: {key: value}}")
    plugins: list = option([], "plugin files to load (also in the mount daemons)")
    compressed: bool = option(True, "ship the image compressed (gzip layers, zstd chunks and TrIO frames)")
    reuse_build: bool = option(True, "reuse this machine's cached build and trace of the workload image")
    host_counts: list = option([], "container counts for the host page cache (empty: 1 and --containers)")
    links: list = option([], "extra links [rtt_ms, bandwidth_mbps] to time every loader on, side by side")
    host_cache: bool = option(True, "also measure the host page cache of N containers (namespaces + memory cgroups)")
    drop_caches: bool = option(False, "write /proc/sys/vm/drop_caches between host-cache runs (machine-wide)")
    starts: int = option(1, "cold starts per loader at the main link, interleaved; the median one is reported")


@dataclass
class LoaderRow:
    time_to_ready_s: float
    prepare_s: float
    bytes_fetched: int
    requests: int
    fuse: bool
    fraction_of_image: float
    stats: dict = field(default_factory=dict)
    time_to_ready_runs_s: list = field(default_factory=list)  # every start timed (--starts), in run order


@dataclass
class CompareResults:
    workload: str
    start_command: str
    mode: str  # "FUSE mount, real start" or "no FUSE: in-process replay (...)"
    seed: int
    rtt_ms: float
    bandwidth_mbps: float
    image_bytes: int
    flat_bytes: int
    files: int
    runtime_blob_bytes: int
    trace_reads: int
    trace_bytes: int
    loaders: dict[str, LoaderRow]
    cooperative: dict
    speedup: dict
    sweep: list[dict]
    figures: list[str]


def loader_order(names: list[str]) -> list[str]:
    """Display order: each loader class's `order` (full first, trio last), then by name."""
    return sorted(names, key=lambda n: (getattr(LOADERS.get(n), "order", 50), n))


def compare(cfg: CompareConfig, out: Path, seed: int) -> CompareResults:
    from sysai.options import load_plugins

    load_plugins(cfg.plugins)
    names = list(cfg.loaders) or LOADERS.defaults()
    for name in names:
        LOADERS.make_config(name, cfg.plugin_options.get(name))  # unknown names or options: one line, now
    if cfg.containers < 1:
        raise UserError(f"--containers must be ≥ 1 (got {cfg.containers})")
    if cfg.starts < 1:
        raise UserError(f"--starts must be ≥ 1 (got {cfg.starts})")
    if cfg.fuse not in ("auto", "off", "on"):
        raise UserError(f"--fuse must be auto, on or off (got {cfg.fuse!r})")
    if cfg.cache_mb < 0:
        raise UserError(f"--cache-mb must be ≥ 0 (got {cfg.cache_mb})")
    EVICTIONS.make_config(cfg.eviction, cfg.plugin_options.get(cfg.eviction))  # now, not inside the daemon
    unknown = set(cfg.plugin_options) - set(LOADERS.names()) - set(EVICTIONS.names())
    if unknown:
        raise UserError(f"options for unknown plugin {sorted(unknown)[0]!r} (loaders: {', '.join(LOADERS.names())}; "
                        f"evictions: {', '.join(EVICTIONS.names())})")
    capacity = int(cfg.cache_mb * 1e6) or None
    workload = get_workload(cfg.workload)
    can_mount, why = fuse_available()
    if cfg.fuse == "on" and not can_mount:
        raise UserError(f"--fuse on, but FUSE is not usable here: {why}")
    fuse = can_mount and cfg.fuse != "off"
    store = out / "image"
    manifest, cache = cached_image(store, workload, cfg.compressed, cfg.reuse_build)
    cached_trace = cache / f"startup-{'fuse' if fuse else 'native'}.trace"
    if cfg.trace_file:
        reads = read_trace(Path(cfg.trace_file))
    elif cfg.reuse_build and cached_trace.is_file():  # recorded once per image, as TrIO does
        reads = read_trace(cached_trace)
    else:
        reads = record_trace(store, manifest, workload, fuse)
        if cfg.reuse_build:
            write_trace(cached_trace, reads)
    write_trace(out / "startup.trace", reads)
    runtime = add_runtime(store, manifest, reads)
    manifest = Manifest.load(store)
    mode = "FUSE mount, real start" if fuse else f"no FUSE ({why or 'disabled'}): in-process replay of the trace"

    def run(loader: str, rtt: float, bw: float, **kw) -> StartResult:
        with serve_in_thread(make_app(store, rtt, bw)) as url:
            return cold_start(store, url, loader, workload, fuse=fuse, reads=reads, cache_capacity=capacity,
                              eviction=cfg.eviction, plugin_options=cfg.plugin_options, plugins=cfg.plugins,
                              seed=seed, **kw)

    order = loader_order(names)
    shuffled = list(order)
    py_random(seed, "loader-order").shuffle(shuffled)  # no loader always runs first (warm host caches)
    starts: dict[str, list[StartResult]] = {name: [] for name in order}
    for round_no in range(cfg.starts):  # interleaved rounds: a busy spell hits every loader alike
        this_round = shuffled if round_no == 0 else py_random(seed, f"loader-order-{round_no}").sample(order,
                                                                                                          len(order))
        for name in this_round:
            starts[name].append(run(name, cfg.rtt_ms, cfg.bandwidth_mbps))
    rows = {}
    for name in order:
        r = sorted(starts[name], key=lambda one: one.time_to_ready_s)[(len(starts[name]) - 1) // 2]  # the median
        rows[name] = LoaderRow(r.time_to_ready_s, r.prepare_s, r.bytes_fetched, r.requests, r.fuse,
                               r.bytes_fetched / manifest.image_bytes, r.loader_stats[0] if r.loader_stats else {},
                               [one.time_to_ready_s for one in starts[name]])
    cooperative = {"containers": cfg.containers}
    if "trio" in order:
        shared = run("trio", cfg.rtt_ms, cfg.bandwidth_mbps, containers=cfg.containers, cooperative=True)
        private = run("trio", cfg.rtt_ms, cfg.bandwidth_mbps, containers=cfg.containers, cooperative=False)
        cooperative.update(cache_bytes_shared=shared.cache_bytes, cache_bytes_private=private.cache_bytes,
                           page_cache_bytes_shared=shared.cache["page_bytes"],
                           page_cache_bytes_private=private.cache["page_bytes"],
                           content_by_kind_shared=shared.cache["content_by_kind"],
                           content_by_kind_private=private.cache["content_by_kind"],
                           time_to_ready_shared_s=shared.time_to_ready_s,
                               time_to_ready_private_s=private.time_to_ready_s,
                           bytes_fetched_shared=shared.bytes_fetched, bytes_fetched_private=private.bytes_fetched,
                           daemon_peak_rss_shared=shared.daemon_peak_rss,
                               daemon_peak_rss_private=private.daemon_peak_rss)
        if cfg.host_cache and fuse:
            counts = sorted(set(cfg.host_counts) | {1, cfg.containers}) if cfg.host_counts else sorted({1,
                                                                                                        cfg.containers})
            host = measure_host_cache(store, workload, reads, counts, cfg.drop_caches)
        else:
            host = {"available": False, "why": "needs FUSE" if not fuse else "not asked (--no-host-cache)",
                    "host_cache_bytes": dict.fromkeys(("one",) + HOST_MODES)}
        cooperative.update(host_cache_bytes=host["host_cache_bytes"], host=host)
    sweep = []
    points = [(rtt, cfg.bandwidth_mbps, "rtt") for rtt in cfg.sweep_rtt_ms]
    points += [(cfg.rtt_ms, bw, "bandwidth") for bw in cfg.sweep_bandwidth_mbps]
    points += [(float(rtt), float(bw), "link") for rtt, bw in cfg.links]
    for rtt, bw, axis in points:
        for name in shuffled:
            r = run(name, rtt, bw)
            sweep.append({"axis": axis, "rtt_ms": rtt, "bandwidth_mbps": bw, "loader": name,
                          "time_to_ready_s": r.time_to_ready_s, "bytes_fetched": r.bytes_fetched,
                              "requests": r.requests})
    speedup = {}
    if "trio" in rows:
        for other in rows:
            if other != "trio":
                speedup[f"trio_vs_{other}"] = rows[other].time_to_ready_s / rows["trio"].time_to_ready_s
    results = CompareResults(
        workload.name, " ".join(workload.command("<mount>")[-2:]), mode, seed, cfg.rtt_ms, cfg.bandwidth_mbps,
        manifest.image_bytes, manifest.flat_bytes, manifest.files, runtime.blob_size, len(reads),
        sum(r.length for r in reads), rows, cooperative, speedup, sweep, [],
    )
    write_csv(out / "loaders.csv", [{"loader": n, **{k: v for k, v in vars(r).items()
                                                     if k not in ("stats", "time_to_ready_runs_s")}}
                                    for n, r in rows.items()])
    write_csv(out / "sweep.csv", sweep)
    results.figures = [str(p) for p in plot(results, out)]  # trio_lab.report
    return results


def record_trace(store: Path, manifest: Manifest, workload: Workload, fuse: bool,
                 modules: str | None = None) -> list[Read]:
    """The startup working set: traced by the FUSE daemon, or (no FUSE) files a native start opens."""
    if fuse:
        with serve_in_thread(make_app(store)) as url:
            result = cold_start(store, url, "full", workload, fuse=True, reads=[], modules=modules,
                                trace=True, options=FuseOptions())
        return result.trace
    with scratch("native") as tmp:
        root = materialize(store, manifest, Path(tmp) / "root")
        found = native_trace(root, workload, modules)
        sizes = {p: (root / p.lstrip("/")).stat().st_size for p, _, _ in found}
    reads = [Read(p, off, sizes[p] - off if n < 0 else min(n, sizes[p] - off)) for p, off, n in found]
    return [r for r in reads if r.length > 0]


HOST_MODES = ("private", "shared", "native")


def measure_host_cache(store: Path, workload: Workload, reads: list[Read], counts: list[int],
                       allow_drop_caches: bool = False) -> dict:
    """The host page cache of N containers of one image (issue 15 §1), by the kernel's counters.

    For each N and mode — ``private`` (one FUSE mount per container), ``shared`` (one daemon-wide
    mount bind-mounted into every container), ``native`` (the same files on the local disk) —
    N containers (own mount + pid namespace, own memory cgroup) start the workload together;
    then the cgroups' page-cache counters are summed and ``fincore`` counts the image files'
    resident pages. The image's pages are dropped before every run so each one starts cold.
    """
    from trio_lab.hostcache import (Containers, cleanup_cgroups, drop_caches, drop_pages, host_support,
                                    regular_files, resident_bytes)

    cgroups, why = host_support()
    if cgroups is None:
        return {"available": False, "why": why, "host_cache_bytes": dict.fromkeys(("one",) + HOST_MODES)}
    cleanup_cgroups()
    manifest = Manifest.load(store)
    traced = sorted({r.path for r in reads})
    runs = []
    dropped = "posix_fadvise(DONTNEED) on the image's files and blobs"
    with scratch("host") as tmp, serve_in_thread(make_app(store)) as url:
        tree = materialize(store, manifest, Path(tmp) / "tree")
        tree_dev = os.stat(tree).st_dev
        os.sync()  # written pages are dirty until synced, and dirty pages cannot be dropped
        run_start(workload, str(tree))  # warms the interpreter's own files, charged to no container
        blobs = regular_files(Path(store) / "blobs")
        for n in counts:
            for mode in HOST_MODES:
                if allow_drop_caches and drop_caches():
                    dropped = "posix_fadvise(DONTNEED) + /proc/sys/vm/drop_caches"
                    run_start(workload, str(tree))  # the interpreter's own files warm again: no container pays for them
                drop_pages(regular_files(tree) + blobs)
                with contextlib.ExitStack() as stack:
                    if mode == "native":
                        sources = [str(tree)] * n
                    else:
                        daemon = stack.enter_context(MountDaemon(store, url, "trio",
                                                                 containers=n if mode == "private" else 1,
                                                                 cooperative=mode != "private"))
                        daemon.go()
                        sources = daemon.mountpoints if mode == "private" else daemon.mountpoints * n
                    box = stack.enter_context(Containers(cgroups, Path(tmp), f"{mode}{n}"))
                    started = time.perf_counter()
                    done = box.run(sources, workload.command(str(box.root)))
                    seconds = time.perf_counter() - started
                    failed = [r for r in done if r.returncode != 0]
                    if failed:
                        last = failed[0].stderr.splitlines()[-1:]
                        raise UserError(f"a {mode} container of {workload.name} failed: {last}")
                    resident = resident_bytes([s + p for s in dict.fromkeys(sources) for p in traced])
                runs.append({"mode": mode, "containers": n, "cgroup_bytes": sum(r.cache_bytes for r in done),
                             "per_container": [r.cache_bytes for r in done], "resident_bytes": resident,
                             "seconds": seconds})
    at = {(r["mode"], r["containers"]): r for r in runs}
    n = max(counts)
    pick = {"one": at[("shared", min(counts))], **{m: at[(m, n)] for m in HOST_MODES}}
    return {"available": True, "why": "", "containers": n, "counts": list(counts),
            "read_ahead_kb": {"native": _read_ahead_kb(tree_dev), "fuse": 128},
            "cgroup": f"cgroup v{cgroups.version} memory.stat {cgroups.counter!r}", "dropped": dropped,
            "runs": runs, "host_cache_bytes": {k: r["cgroup_bytes"] for k, r in pick.items()},
            "resident_bytes": {k: r["resident_bytes"] for k, r in pick.items()}}


def _read_ahead_kb(dev: int) -> int | None:
    """The readahead window of the disk holding the native tree (it decides how much of a file
    one page fault pulls in: FUSE mounts get the kernel's 128 KiB default)."""
    try:
        return int(Path(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb").read_text())
    except (OSError, ValueError):
        return None


@dataclass
class TogetherConfig:
    workloads: list = option(["numpy-slim", "matplotlib"], "two workloads built on the same base layer")
    rtt_ms: float = option(20.0, "registry round-trip time in ms")
    bandwidth_mbps: float = option(200.0, "registry link bandwidth in Mbit/s")
    loader: str = option("trio", "the loader both containers use")
    compressed: bool = option(True, "ship the images compressed")


@dataclass
class TogetherResults:
    workloads: list
    mode: str
    loader: str
    shared_layers: int  # layer blobs the two manifests have in common
    shared_chunks_bytes: int  # chunk bytes (uncompressed) the two images have in common
    traced_common_bytes: int  # bytes both starts read from files with identical content
    # "shared" (one daemon cache, a mount per image) / "private" (a cache per image) / "content" (one
    # cache, overlay roots over one content-addressed mount: shared in the kernel's page cache too)
    # → {time_to_ready_s, bytes_fetched, requests, cache_bytes, page_bytes, host}
    runs: dict
    figures: list = field(default_factory=list)
    content_why: str = ""  # why there is no "content" run (overlay or containers unavailable), if so


def together(cfg: TogetherConfig, out: Path, seed: int) -> TogetherResults:
    """Two different images sharing base files, one container each, started together on one
    daemon (issue 15 §4): what one cache keyed by content saves across images, in bytes fetched
    and held, and what the kernel page cache holds — twice the common files when each image is
    its own mount (its own inodes), once with overlay roots over one content mount
    (:mod:`trio_lab.overlay`)."""
    from trio_lab.chunked import ChunkedImage
    from trio_lab.hostcache import Containers, RootSource, host_support
    from trio_lab.overlay import build_meta_tree, overlay_support
    from trio_lab.store import BlobStore

    if len(cfg.workloads) != 2:
        raise UserError(f"--workloads needs two names (got {cfg.workloads})")
    LOADERS.get(cfg.loader)
    workloads = [get_workload(name) for name in cfg.workloads]
    can_mount, why = fuse_available()
    if not can_mount:
        raise UserError(f"starting two images together needs FUSE: {why}")
    stores, traces, manifests = [], [], []
    for i, wl in enumerate(workloads):
        store = out / f"image{i}"
        manifest, cache = cached_image(store, wl, cfg.compressed)
        cached_trace = cache / "startup-fuse.trace"
        reads = read_trace(cached_trace) if cached_trace.is_file() else record_trace(store, manifest, wl, True)
        write_trace(cached_trace, reads)
        add_runtime(store, manifest, reads)
        stores.append(store)
        traces.append(reads)
        manifests.append(Manifest.load(store))
    flats = [ChunkedImage.from_dict(BlobStore(s).get_json(m.flat_index)) for s, m in zip(stores, manifests)]
    sizes = [{d: n for pieces in f.chunks.values() for d, n in pieces} for f in flats]
    common = set(sizes[0]) & set(sizes[1])
    digests = [{p: n.digest for p, n in f.nodes.items() if n.digest} for f in flats]
    read_common = sum(r.length for r in traces[0] if digests[0].get(r.path) and
                      digests[0][r.path] in set(digests[1].values()))
    cgroups, host_why = host_support()
    content_ok, content_why = overlay_support() if cgroups is not None else (False, host_why)
    modes = [("shared", True, False), ("private", False, False)] + ([("content", True, True)] if content_ok else [])
    runs = {}
    with serve_in_thread(make_app(stores, cfg.rtt_ms, cfg.bandwidth_mbps)) as url:
        client = BlobClient(url)
        for label, cooperative, content in modes:
            client.reset()
            with scratch("together", fast=True) as tmp, \
                    MountDaemon(stores[0], url, cfg.loader, cooperative=cooperative, images=stores,
                                content=content, seed=seed) as daemon:
                started = time.perf_counter()
                if content:  # each image's metadata tree (composefs's part), from the index it pulls anyway
                    roots = [RootSource.overlay(build_meta_tree(f.nodes, Path(tmp) / f"meta{i}"),
                                                daemon.content_mountpoint) for i, f in enumerate(flats)]
                else:
                    roots = [RootSource.bind(m) for m in daemon.mountpoints]
                daemon.go()
                host = {"available": False, "why": host_why}
                if cgroups is not None:
                    with Containers(cgroups, Path(tmp), f"together-{label}") as box:
                        for root, wl in zip(roots, workloads):
                            box.start([root], wl.command(str(box.root)))
                        done = box.wait()
                    if any(r.returncode for r in done):
                        raise UserError(f"a start failed: {[r.stderr.splitlines()[-1:] for r in done if r.returncode]}")
                    host = {"available": True, "cgroup_bytes": [r.cache_bytes for r in done]}
                else:
                    with ThreadPoolExecutor(max_workers=2) as pool:
                        list(pool.map(lambda pair: run_start(pair[1], pair[0]), zip(daemon.mountpoints, workloads)))
                elapsed = time.perf_counter() - started
            stats = client.stats()
            cache = daemon.results()["cache"]
            runs[label] = {"time_to_ready_s": elapsed, "bytes_fetched": stats["bytes"], "requests": stats["requests"],
                           "cache_bytes": cache["bytes"], "page_bytes": cache["page_bytes"], "host": host}
    shared_layers = len({r.digest for r in manifests[0].layers} & {r.digest for r in manifests[1].layers})
    return TogetherResults([w.name for w in workloads], "FUSE mount, real start", cfg.loader, shared_layers,
                           sum(sizes[0][d] for d in common), read_common, runs,
                           content_why="" if content_ok else content_why)
