"""The mount daemon: ``python -m trio_lab.daemon spec.json`` (started by :class:`MountDaemon`).

Protocol on stdin/stdout, one line each: prints ``loaded``; on ``go`` fetches the image
manifest from the registry (verified by digest), prepares every loader (in parallel, as
containers starting together would) and mounts, then prints ``ready {timings}``; on
``stop`` (or EOF, SIGINT, SIGTERM, SIGHUP) unmounts everything, writes the result file
(loader stats, runtime-cache memory, the trace) and exits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _stop(signum, frame):  # turned into a clean unmount by the finally blocks below
    raise SystemExit(128 + signum)


def _say(word: str, body: object = None) -> None:
    sys.stdout.write(word + ("" if body is None else " " + json.dumps(body)) + "\n")
    sys.stdout.flush()


def main(spec_path: str) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)  # set before libfuse starts, so libfuse leaves them to us
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from sysai.errors import UserError
    from trio_lab.cache import RuntimeCache
    from trio_lab.evictions.base import EVICTIONS
    from trio_lab.fetch import BlobClient
    from trio_lab.fuseops import CAN_SKIP_OPENS, LIBFUSE, serve
    from trio_lab.loaders.base import LOADERS, LoaderContext
    from trio_lab.mounts import FuseOptions, set_read_ahead, unmount
    from trio_lab.store import Manifest
    from trio_lab.trace import Tracer
    from trio_lab.vfs import ImageFS

    from sysai.registry import load_plugin_file

    spec = json.loads(Path(spec_path).read_text())
    mounted: list[str] = []
    threads: list[threading.Thread] = []
    fss: list[ImageFS] = []
    caches: list[RuntimeCache] = []
    timings: dict = {"libfuse": LIBFUSE}
    try:
        client = BlobClient(spec["registry"], retries=spec["retries"], timeout_s=spec["timeout_s"])
        for plugin in spec.get("plugins", []):  # the parent's --plugin files: same names here
            load_plugin_file(plugin)
        seed = spec.get("seed", 0)
        LOADERS.make_config(spec["loader"], spec.get("loader_options"))  # bad names/options fail before "loaded"
        capacity = spec["cache_capacity"]
        EVICTIONS.make_config(spec["eviction"], spec.get("eviction_options"))

        def new_cache() -> RuntimeCache:
            policy = (EVICTIONS.create(spec["eviction"], seed=seed, options=spec.get("eviction_options"))
                      if capacity is not None else None)
            caches.append(RuntimeCache(capacity, policy))
            return caches[-1]

        _say("loaded")
        if sys.stdin.readline().strip() != "go":
            return 0
        start = time.perf_counter()
        # the image is resolved like a container engine does: its manifest, by digest, over HTTP
        refs = spec.get("images") or [spec["image"]] * len(spec["mounts"])
        manifests = {ref: Manifest.parse(client.manifest(ref)[0]) for ref in dict.fromkeys(refs)}
        shared = new_cache() if spec["cooperative"] else None
        for i, ref in enumerate(refs):
            ctx = LoaderContext(manifests[ref], client, shared or new_cache(), owner=f"c{i}")
            loader = LOADERS.create(spec["loader"], ctx, seed=seed, options=spec.get("loader_options"))
            fss.append(ImageFS(loader, Tracer(enabled=spec["trace"])))
        with ThreadPoolExecutor(max_workers=len(fss)) as pool:
            list(pool.map(lambda fs: fs.loader.prepare(), fss))
        served = list(zip(fss, spec["mounts"]))
        if spec.get("content_mount"):  # every image's files by digest, for overlay roots (trio_lab.overlay)
            from trio_lab.loaders.lazy_flat import flat_index
            from trio_lab.overlay import ContentFS
            served.append((ContentFS([(fs, flat_index(fs.loader)[0].nodes) for fs in fss]), spec["content_mount"]))
        timings["prepare_s"] = time.perf_counter() - start
        fuse_options = FuseOptions(**spec["fuse"])
        options = fuse_options.as_mount_options()
        timings["zero_message_open"] = fuse_options.zero_message_open and CAN_SKIP_OPENS
        errors: list[str] = []
        for fs, mountpoint in served:
            def run(fs=fs, mountpoint=mountpoint):
                try:
                    serve(fs, mountpoint, f"trio:{spec['loader']}:{os.getpid()}", options,
                          fuse_options.zero_message_open)
                except BaseException as exc:  # reported to the parent, never silent
                    errors.append(f"{mountpoint}: {exc}")
            thread = threading.Thread(target=run, daemon=True, name=f"fuse-{mountpoint}")
            thread.start()
            threads.append(thread)
            mounted.append(mountpoint)
        deadline = time.monotonic() + 15
        while not all(os.path.ismount(m) for m in mounted) and not errors and time.monotonic() < deadline:
            time.sleep(0.002)
        if errors or not all(os.path.ismount(m) for m in mounted):
            raise UserError(f"mount failed: {'; '.join(errors) or 'timed out'}")
        read_ahead = fuse_options.read_ahead_kb
        if read_ahead:
            timings["read_ahead_set"] = all([set_read_ahead(m, read_ahead) for m in mounted])
        timings["mount_s"] = time.perf_counter() - start - timings["prepare_s"]
        _say("ready", timings)
        while True:
            line = sys.stdin.readline()
            if not line or line.strip() == "stop":
                break
        return 0
    except Exception as exc:
        if not isinstance(exc, (UserError, OSError)):  # expected ones (bad image, registry down) the parent reports
            logging.getLogger("trio_lab.daemon").exception("daemon failed")
        sys.stdout.write(f"error {exc}\n")
        sys.stdout.flush()
        return 1
    finally:
        for mountpoint in mounted:
            if os.path.ismount(mountpoint):
                unmount(mountpoint)
        deadline = time.monotonic() + 10  # one budget for all mounts: 8 containers must not take 80 s
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if fss:
            _write_result(spec, fss, caches, timings)


def _write_result(spec: dict, fss: list, caches: list, timings: dict) -> None:
    from trio_lab.cache import summarize

    stats = [cache.stats() for cache in caches]
    result = {
        "loader": spec["loader"],
        "timings": timings,
        "peak_rss_bytes": _peak_rss(),
        "containers": [fs.loader.stats() for fs in fss],
        "open_requests": sum(fs.open_requests for fs in fss),
        "cache": {"cooperative": spec["cooperative"], **summarize(stats)},
        "trace": [[r.path, r.offset, r.length] for fs in fss for r in fs.tracer.reads()] if spec["trace"] else [],
    }
    Path(spec["result"]).write_text(json.dumps(result))


def _peak_rss() -> int:
    """The daemon's peak resident memory (VmHWM), all mounts and caches included."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
