"""One cold start of the workload under one loader: mounted (FUSE) or replayed in-process.

With FUSE the real start command runs against the mount and the clock runs from "go" (the
loader starts fetching what it fetches at mount) to the start's exit ("ready"). Without FUSE
the loader serves the recorded trace through the same read API in-process ("replay").
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from trio_lab.cache import RuntimeCache, summarize
from trio_lab.evictions.base import EVICTIONS
from trio_lab.fetch import BlobClient
from trio_lab.loaders.base import LOADERS, LoaderContext
from trio_lab.mounts import FuseOptions, MountDaemon
from trio_lab.store import Manifest, manifest_digest
from trio_lab.trace import Read, Tracer
from trio_lab.vfs import ImageFS
from trio_lab.workload import Workload, run_start


@dataclass
class StartResult:
    loader: str
    time_to_ready_s: float
    prepare_s: float
    bytes_fetched: int
    requests: int
    fuse: bool
    containers: int = 1
    cache_bytes: int = 0  # what the caches hold: runtime pages + metadata/chunks/files/layers by digest
    cache_bytes_if_private: int = 0  # the same with one cache per container
    cache: dict = field(default_factory=dict)  # the breakdown (trio_lab.cache.summarize)
    loader_stats: list[dict] = field(default_factory=list)
    trace: list[Read] = field(default_factory=list)
    daemon_peak_rss: int | None = None  # bytes; FUSE only (in-process runs share the caller's memory)


def cold_start(store: Path, url: str, loader: str, workload: Workload, *, fuse: bool, reads: list[Read],
               containers: int = 1, cooperative: bool = True, modules: str | None = None,
               options: FuseOptions | None = None, trace: bool = False, cache_capacity: int | None = None,
               eviction: str = "lru", plugin_options: dict | None = None, plugins: list | None = None,
               seed: int = 0) -> StartResult:
    """Start `containers` containers of the image together; counters are reset first."""
    client = BlobClient(url)
    client.reset()
    plugin_options = plugin_options or {}
    loader_options, eviction_options = plugin_options.get(loader), plugin_options.get(eviction)
    if fuse:
        with MountDaemon(store, url, loader, containers, cooperative, options, trace,
                         cache_capacity=cache_capacity, eviction=eviction, loader_options=loader_options,
                         eviction_options=eviction_options, plugins=plugins, seed=seed) as daemon:
            start = time.perf_counter()
            info = daemon.go()
            with ThreadPoolExecutor(max_workers=containers) as pool:
                list(pool.map(lambda root: run_start(workload, root, modules), daemon.mountpoints))
            elapsed = time.perf_counter() - start
        result, prepare_s = daemon.results(), info["prepare_s"]
        peak_rss = result.get("peak_rss_bytes")
        cache = result["cache"]
        stats, traced = result["containers"], [Read(*r) for r in result["trace"]]
    else:
        start = time.perf_counter()
        manifest = Manifest.parse(client.manifest(manifest_digest(store))[0])
        def policy():
            return (EVICTIONS.create(eviction, seed=seed, options=eviction_options)
                    if cache_capacity is not None else None)

        shared = RuntimeCache(cache_capacity, policy())
        caches = [shared] if cooperative else [RuntimeCache(cache_capacity, policy()) for _ in range(containers)]
        fss = [ImageFS(LOADERS.create(loader, LoaderContext(manifest, client, caches[i % len(caches)], f"c{i}"),
                                      seed=seed, options=loader_options), Tracer(enabled=trace))
               for i in range(containers)]
        with ThreadPoolExecutor(max_workers=containers) as pool:
            list(pool.map(lambda fs: fs.loader.prepare(), fss))
            prepare_s = time.perf_counter() - start
            list(pool.map(lambda fs: fs.replay(reads), fss))
        elapsed = time.perf_counter() - start
        cache = summarize([c.stats() for c in caches])
        stats, traced = [fs.loader.stats() for fs in fss], [r for fs in fss for r in fs.tracer.reads()]
        peak_rss = None
    counters = client.stats()
    return StartResult(loader, elapsed, prepare_s, counters["bytes"], counters["requests"], fuse, containers,
                       cache["bytes"], cache["bytes_if_private"], cache, stats, traced, peak_rss)
