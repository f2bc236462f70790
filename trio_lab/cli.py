"""`sysai trio ...`: build, mount, compare, bench, trace, cleanup. Heavy imports stay inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from sysai.config import parse_assignment
from sysai.errors import UserError
from sysai.options import DEFAULT_SEED, Json, Out, Plugin, Quick, Seed, load_plugins

app = typer.Typer(no_args_is_help=True, help="TrIO: layered vs lazy vs flattened runtime images over FUSE.")

Rtt = Annotated[float, typer.Option("--rtt-ms", help="Registry round-trip time (ms).")]
Bandwidth = Annotated[float, typer.Option("--bandwidth-mbps", help="Registry link bandwidth (Mbit/s).")]
StartWorkload = Annotated[str, typer.Option("--workload",
            help="A workload name (default numpy; yaml with --quick); `sysai trio workloads` lists them.")]
PluginOption = Annotated[Optional[List[str]], typer.Option(
    "--set", help="A plugin option NAME.KEY=VALUE, e.g. lazy-prefetch.amplify_kb=512 (repeatable; "
                  "`sysai plugins trio` lists them).", show_default=False)]


def plugin_options(values: Optional[List[str]]) -> dict:
    """``["lazy-prefetch.amplify_kb=512", ...]`` → ``{"lazy-prefetch": {"amplify_kb": 512}}``."""
    out: dict = {}
    for value in values or []:
        name, key, parsed = parse_assignment(value, example="lazy-prefetch.amplify_kb=512")
        out.setdefault(name, {})[key] = parsed
    return out


@app.command()
def build(
    from_dir: Annotated[Optional[Path], typer.Option("--from-dir",
                                                     help="Build a one-layer image from this tree.")] = None,
    layer: Annotated[Optional[List[Path]], typer.Option("--layer",
                                                        help="A layer tarball (repeat, bottom first).")] = None,
    workload: Annotated[Optional[str], typer.Option("--workload",
            help="Build a workload image (`sysai trio workloads` lists them) and record its startup trace.")] = None,
    trace: Annotated[Optional[Path], typer.Option("--trace",
                                                  help="Build the runtime image from this trace file.")] = None,
    name: Annotated[str, typer.Option("--name", help="Image name.")] = "image",
    compressed: Annotated[bool, typer.Option("--compressed/--uncompressed",
            help="gzip layers, zstd chunks and TrIO frames (as registries and Nydus ship them), or plain.")] = True,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Build an image in every format (layered, flattened-chunked, TrIO runtime) into OUT/image."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from trio_lab.mounts import fuse_available
    from trio_lab.store import add_runtime, build_from_dir, build_image
    from trio_lab.trace import read_trace
    from trio_lab.workload import build_workload_image, get_workload

    if sum(x is not None and x != [] for x in (from_dir, layer, workload)) != 1:
        raise UserError("give exactly one of --from-dir DIR, --layer TAR (repeatable) or --workload NAME")
    folder = prepare_out("trio", "build", out)
    store = folder / "image"
    if workload:
        from trio_lab.experiments import record_trace

        wl = get_workload(workload)
        manifest = build_workload_image(store, wl, compressed)
        reads = read_trace(trace) if trace else record_trace(store, manifest, wl, fuse_available()[0])
    else:
        manifest = (build_from_dir(store, from_dir, name, compress=compressed) if from_dir
                    else build_image(store, list(layer or []), name, compress=compressed))
        reads = read_trace(trace) if trace else None
    runtime = add_runtime(store, manifest, reads) if reads is not None else None
    result = {"store": str(store), "image_bytes": manifest.image_bytes, "flat_bytes": manifest.flat_bytes,
              "files": manifest.files, "layers": len(manifest.layers),
              "runtime_blob_bytes": runtime.blob_size if runtime else None,
              "runtime_extents": len(runtime.extents) if runtime else None}

    def show() -> None:
        print_table("image built", ["format", "bytes", "note"], [
            ["layered", manifest.image_bytes, f"{len(manifest.layers)} layer tars (incl. deleted files)"],
            ["flattened (chunks)", manifest.flat_bytes, f"{manifest.files} files, deduplicated chunks"],
            ["TrIO runtime blob", runtime.blob_size if runtime else None,
             f"{len(runtime.extents)} extents" if runtime else "no trace given"],
        ])

    finish(result, folder, json, show)


@app.command()
def record(
    image: Annotated[Path, typer.Argument(help="An image folder made by `sysai trio build` (holds image.json).")],
    command: Annotated[List[str],
            typer.Argument(help="The start command, after `--`; {root} (or $TRIO_ROOT) is the mounted image.")],
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the command may run.")] = 300.0,
    allow_failure: Annotated[bool, typer.Option("--allow-failure",
                                                help="Keep the trace even if the command exits non-zero.")] = False,
    json: Json = False,
) -> None:
    """Record the startup trace of YOUR command on YOUR image and build its TrIO runtime image.

    Mounts IMAGE (loader full, tracing every read), runs COMMAND against the mount, writes
    IMAGE/startup.trace and the runtime image; then `sysai trio mount IMAGE DIR --loader trio` works.
    Example: sysai trio record results/trio/build/image -- env TZ=Asia/Tokyo TZDIR={root} date
    """
    from sysai.results import to_jsonable
    from sysai.tables import print_table
    from trio_lab.record import record_command

    res = record_command(image, list(command), timeout, allow_failure)
    if json:
        import json as json_

        print(json_.dumps({k: v for k, v in to_jsonable(res).items() if k != "trace"}, indent=2))
        return
    print_table(f"recorded: {' '.join(command)}", ["what", "value"], [
        ["exit status", res.returncode], ["seconds", res.seconds], ["reads", res.reads], ["files read", res.files],
        ["bytes read", res.bytes_read], ["runtime blob bytes", res.runtime_blob_bytes],
        ["runtime extents", res.runtime_extents], ["trace", res.trace_file],
    ], note=f"now: sysai trio mount {image} DIR --loader trio")


@app.command()
def serve(
    store: Annotated[Path, typer.Argument(help="An image folder made by `sysai trio build` (holds image.json).")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")] = 5000,
    rtt_ms: Rtt = 0.0,
    bandwidth_mbps: Annotated[Optional[float], typer.Option("--bandwidth-mbps",
            help="Link bandwidth (Mbit/s); unlimited if unset.")] = None,
) -> None:
    """Run the blob registry for one image in the foreground (for `mount --registry`); Ctrl-C stops it."""
    from sysai.http import run_until_interrupted
    from trio_lab.blobserver import make_app
    from trio_lab.store import Manifest, manifest_digest

    name = Manifest.load(store).name
    app_ = make_app(store, rtt_ms, bandwidth_mbps)
    run_until_interrupted(app_, port=port, on_ready=lambda url: print(
        f"image {name!r}: mount it with `sysai trio mount {manifest_digest(store)} DIR --registry {url}` "
        f"(or by name: {name})", flush=True))


@app.command()
def mount(
    image: Annotated[str, typer.Argument(
            help="An image folder made by `sysai trio build`, or with --registry an image name or sha256: digest.")],
    mountpoint: Annotated[Path, typer.Argument(help="An empty directory to mount on.")],
    loader: Annotated[str, typer.Option("--loader", help="A loader name (`sysai plugins trio` lists them).")] = "trio",
    registry: Annotated[Optional[str], typer.Option("--registry",
            help="Use a running registry (`sysai trio serve`) instead of serving IMAGE here.")] = None,
    rtt_ms: Rtt = 0.0,
    bandwidth_mbps: Annotated[Optional[float], typer.Option("--bandwidth-mbps",
            help="Link bandwidth (Mbit/s); unlimited if unset.")] = None,
    option: PluginOption = None,
    plugin: Plugin = None,
) -> None:
    """Mount one image read-only from a registry (by default one served here for IMAGE); Ctrl-C unmounts."""
    from trio_lab.session import MountRequest, mount_until_interrupted

    load_plugins(plugin)
    mount_until_interrupted(MountRequest(image, mountpoint, loader, registry, rtt_ms, bandwidth_mbps,
                                         plugin_options(option), [str(p) for p in plugin or []]),
                            say=lambda line: print(line, flush=True))


@app.command()
def compare(
    workload: StartWorkload = "",
    rtt_ms: Rtt = 20.0,
    bandwidth_mbps: Bandwidth = 200.0,
    containers: Annotated[int, typer.Option("--containers", help="Containers sharing one runtime cache.")] = 4,
    loaders: Annotated[str, typer.Option("--loaders",
            help="Comma-separated loader names (default: every default loader; "
                 "`sysai plugins trio` lists them)")] = "",
    fuse: Annotated[str, typer.Option("--fuse", help="auto, on, or off (in-process replay).")] = "auto",
    trace: Annotated[Optional[Path], typer.Option("--trace", help="Use this trace instead of recording one.")] = None,
    sweep: Annotated[bool, typer.Option("--sweep/--no-sweep", help="Also sweep RTT and bandwidth.")] = True,
    cache_mb: Annotated[float, typer.Option("--cache-mb",
                                            help="Cap the runtime page cache (MB; 0 = unlimited).")] = 0.0,
    eviction: Annotated[str, typer.Option("--eviction",
            help="Eviction policy for a capped cache (`sysai plugins trio` lists them).")] = "lru",
    compressed: Annotated[bool, typer.Option("--compressed/--uncompressed",
            help="Ship the image compressed (default, as registries do) or plain.")] = True,
    host_cache: Annotated[bool, typer.Option("--host-cache/--no-host-cache",
            help="Measure the host page cache of the containers (namespaces + memory cgroups).")] = True,
    starts: Annotated[int, typer.Option("--starts", help="Cold starts per loader, interleaved; the median "
                                                          "counts (timings on a shared machine move).")] = 1,
    option: PluginOption = None,
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Cold start of a real workload under each loader: time to ready, bytes, requests, cache memory."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from trio_lab.experiments import CompareConfig, compare as run
    from trio_lab.report import compare_note, table

    cfg = CompareConfig(workload=workload or ("yaml" if quick else "numpy"), rtt_ms=rtt_ms,
                        bandwidth_mbps=bandwidth_mbps, containers=containers,
                        loaders=[x.strip() for x in loaders.split(",") if x.strip()], fuse=fuse,
                        trace_file=str(trace) if trace else "", cache_mb=cache_mb, eviction=eviction,
                        host_cache=host_cache, compressed=compressed, plugin_options=plugin_options(option),
                        plugins=[str(p) for p in plugin or []], starts=starts)
    if quick:
        cfg.sweep_rtt_ms, cfg.sweep_bandwidth_mbps = [0.0, 50.0], [50.0]
    if not sweep:
        cfg.sweep_rtt_ms, cfg.sweep_bandwidth_mbps = [], []
    folder = prepare_out("trio", "compare", out)
    from trio_lab.hostcache import sigterm_as_interrupt

    with sigterm_as_interrupt():  # SIGTERM unwinds like Ctrl-C: mounts, namespaces, cgroups go
        res = run(cfg, folder, seed)

    def show() -> None:
        columns, rows = table(res)
        print_table(f"{res.workload}: {res.rtt_ms:g} ms RTT, {res.bandwidth_mbps:g} Mbit/s — {res.mode}", columns, rows,
                    note=compare_note(res))

    finish(res, folder, json, show)


@app.command()
def together(
    workloads_: Annotated[str, typer.Option("--workloads", help="Two workloads sharing a base layer, comma-separated.")]
    = "numpy-slim,matplotlib",
    rtt_ms: Rtt = 20.0,
    bandwidth_mbps: Bandwidth = 200.0,
    loader: Annotated[str, typer.Option("--loader", help="The loader both use (`sysai plugins trio` lists them).")]
    = "trio",
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, json: Json = False,
) -> None:
    """Two different images sharing base files, started together on one daemon: cross-image dedup."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from trio_lab.experiments import TogetherConfig, together as run
    from trio_lab.hostcache import sigterm_as_interrupt

    load_plugins(plugin)
    cfg = TogetherConfig(workloads=[w.strip() for w in workloads_.split(",") if w.strip()], rtt_ms=rtt_ms,
                         bandwidth_mbps=bandwidth_mbps, loader=loader)
    folder = prepare_out("trio", "together", out)
    with sigterm_as_interrupt():
        res = run(cfg, folder, seed)

    def show() -> None:
        rows = []
        for label, r in res.runs.items():
            host = r["host"]
            rows.append([label, r["time_to_ready_s"], r["bytes_fetched"] / 1e6, r["requests"], r["cache_bytes"] / 1e6,
                         sum(host["cgroup_bytes"]) / 1e6 if host.get("available") else "n/a"])
        title = f"{' + '.join(res.workloads)} started together ({res.loader}, {rtt_ms:g} ms, {bandwidth_mbps:g} Mbit/s)"
        note = (f"{res.shared_layers} layer(s) and {res.shared_chunks_bytes / 1e6:.1f} MB of chunks in common; "
                f"{res.traced_common_bytes / 1e6:.1f} MB of the first start's reads are files the second image "
                "holds too; shared/private: a mount per image; content: overlay roots over one content-addressed "
                "mount" + (f" (no content run: {res.content_why})" if res.content_why else ""))
        columns = ["daemon cache", "ready s", "MB fetched", "requests", "daemon cache MB", "host page cache MB"]
        print_table(title, columns, rows, note=note)

    finish(res, folder, json, show)


@app.command()
def workloads() -> None:
    """The real workloads this lab can build: their layers and their start."""
    from sysai.tables import print_table
    from trio_lab.workload import WORKLOADS

    print_table("workloads (--workload NAME)", ["name", "layers (bottom first)", "start", "deleted by the last layer"],
                [[w.name, " | ".join(", ".join(layer) for layer in w.layers), f"import {w.start}",
                  ", ".join(w.whiteouts)]
                 for w in WORKLOADS.values()])


@app.command("trace")
def show_trace(
    path: Annotated[Path, typer.Argument(help="A trace file (e.g. results/trio/compare/startup.trace).")],
    top: Annotated[int, typer.Option("--top", help="How many files to list.")] = 10,
) -> None:
    """Summarise a startup trace: reads, bytes and the files read most."""
    from sysai.tables import print_table
    from trio_lab.trace import read_trace

    from trio_lab.report import trace_summary

    title, rows = trace_summary(read_trace(path), top)
    print_table(title,
                ["file", "reads", "bytes"], rows, note=str(path))


@app.command()
def cleanup(
    everything: Annotated[bool, typer.Option("--all", help="Also unmount mounts whose daemon still runs.")] = False,
) -> None:
    """Unmount the FUSE mounts this lab left behind (daemon gone), remove dead daemons' work folders
    and the memory cgroups of measurements whose parent was killed."""
    from trio_lab.hostcache import cleanup_cgroups
    from trio_lab.mounts import cleanup as run

    handled = run(everything) + cleanup_cgroups()  # mountpoints stay as empty folders; work folders are deleted
    print("\n".join(f"{'unmounted' if Path(p).exists() else 'removed'} {p}" for p in handled)
          if handled else "no TrIO mounts left behind")


@app.command()
def bench(
    workload: StartWorkload = "",
    rtt_ms: Rtt = 20.0,
    bandwidth_mbps: Bandwidth = 200.0,
    containers: Annotated[int, typer.Option("--containers", help="Containers for the shared-cache memory.")] = 8,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """The performance note: speedups, bytes, shared-cache memory, FUSE vs native, stale trace."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from trio_lab.bench import BenchConfig, run_bench

    from trio_lab.hostcache import sigterm_as_interrupt

    cfg = BenchConfig(workload=workload or ("yaml" if quick else "numpy"), rtt_ms=rtt_ms,
                      bandwidth_mbps=bandwidth_mbps, containers=2 if quick else containers, repeats=2 if quick else 7,
                      starts=1 if quick else 3,
                      host_counts=[1, 2] if quick else [1, 2, 4, 8], drop_caches=not quick,
                      **({"links": [[2.0, 1000.0]], "together": ["yaml", "yaml-pygments"]} if quick else {}))
    folder = prepare_out("trio", "bench", out)
    with sigterm_as_interrupt():
        res = run_bench(cfg, folder, seed)
    finish(res, folder, json, lambda: print_table(
        f"TrIO benchmark: {res.workload}, {rtt_ms:g} ms RTT, {bandwidth_mbps:g} Mbit/s — {res.mode}",
        ["metric", "measured", "anchor / target"], res.rows))
