"""Recording the startup trace of *your* command on *your* image (``sysai trio record``).

TrIO's runtime image is built from what a start reads. The lab's workloads know their start
(``python -c "import numpy"``); an image built from a tree or from layer tars does not, so this
module mounts the image (``full`` loader, unthrottled, the daemon tracing every read), runs the
user's command against the mount, and turns what the daemon served until the command exited
into the trace and the runtime image — the offline "record once, replay at every start" step
of FlacIO (openEuler ``tools/trio`` records with an eBPF tracker instead of the FUSE daemon).

The command finds the image through ``{root}`` in its arguments or ``$TRIO_ROOT``.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sysai.errors import UserError
from sysai.http import serve_in_thread
from trio_lab.mounts import FuseOptions, MountDaemon, fuse_available
from trio_lab.blobserver import make_app
from trio_lab.store import Manifest, add_runtime
from trio_lab.trace import Read

PLACEHOLDER = "{root}"


@dataclass
class RecordResult:
    store: str
    command: list[str]
    returncode: int
    seconds: float
    reads: int
    files: int
    bytes_read: int
    runtime_blob_bytes: int
    runtime_extents: int
    trace_file: str
    stdout: str = ""
    stderr: str = ""
    trace: list[Read] = field(default_factory=list, repr=False)


def substitute(argv: list[str], root: str) -> list[str]:
    return [arg.replace(PLACEHOLDER, root) for arg in argv]


def trace_command(store: Path, argv: list[str], timeout_s: float = 300.0, env: dict | None = None,
                  cwd: str = "/") -> tuple[list[Read], subprocess.CompletedProcess, float]:
    """Mount `store`, run `argv` against it, return (the reads the daemon served, the run, seconds)."""
    ok, why = fuse_available()
    if not ok:
        raise UserError(f"cannot record a trace: {why} (a trace is what the FUSE daemon serves)")
    if not argv:
        raise UserError("give the command to trace after `--`, e.g. `-- cat {root}/etc/os-release`")
    Manifest.load(store)
    with serve_in_thread(make_app(store)) as url:
        with MountDaemon(store, url, "full", trace=True, options=FuseOptions()) as daemon:
            daemon.go()
            root = daemon.mountpoints[0]
            command = substitute(argv, root)
            started = time.perf_counter()
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=cwd,
                                      env={**os.environ, **(env or {}), "TRIO_ROOT": root})
            except FileNotFoundError:
                raise UserError(f"command not found: {command[0]!r}") from None
            except subprocess.TimeoutExpired:
                raise UserError(f"the command did not exit within {timeout_s:g} s (--timeout)") from None
            seconds = time.perf_counter() - started
    return [Read(*r) for r in daemon.results().get("trace", [])], done, seconds


def record_command(store: Path, argv: list[str], timeout_s: float = 300.0, allow_failure: bool = False) -> RecordResult:
    """Trace `argv` on the image in `store`, write ``startup.trace`` and build the runtime image."""
    reads, done, seconds = trace_command(Path(store), argv, timeout_s)
    if done.returncode != 0 and not allow_failure:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise UserError(f"the command failed (exit {done.returncode}: {last}); fix it or pass --allow-failure")
    if not reads:
        raise UserError("the command read nothing from the image: does it use {root} or $TRIO_ROOT?")
    manifest = Manifest.load(store)
    runtime = add_runtime(Path(store), manifest, reads)
    return RecordResult(str(store), list(argv), done.returncode, seconds, len(reads), len({r.path for r in reads}),
                        sum(r.length for r in reads), runtime.blob_size, len(runtime.extents),
                        str(Path(store) / "startup.trace"), done.stdout[-2000:], done.stderr[-2000:], reads)
