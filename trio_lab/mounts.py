"""Mount lifecycles from the parent's side: a mount daemon process, and `cleanup`.

The FUSE file systems run in a separate daemon process (``python -m trio_lab.daemon``): libfuse
installs process-wide signal handlers and blocks a thread per mount, which must not happen in
the process running experiments or tests. The daemon unmounts everything when told to, on
SIGINT/SIGTERM, and when its stdin closes (so a parent that dies, even by SIGKILL, leaves no
mount behind). :func:`cleanup` unmounts anything the lab left anyway: mounts whose ``fsname``
(``trio:<loader>:<daemon pid>``) names a daemon that is gone — not the live mounts of other
``sysai trio mount`` commands or test runs on the same machine, unless asked to.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sysai.config import option
from sysai.errors import TaskNotDone, UserError

FSNAME_PREFIX = "trio:"


@dataclass
class FuseOptions:
    """libfuse mount options (see the docs page for the measurements behind the defaults)."""

    kernel_cache: bool = option(True, "keep file pages in the kernel page cache across opens (image is immutable)")
    attr_timeout: float = option(60.0, "seconds the kernel may cache file attributes (libfuse default 1)")
    entry_timeout: float = option(60.0, "seconds the kernel may cache name lookups (libfuse default 1)")
    negative_timeout: float = option(60.0, "seconds the kernel may cache 'no such file' (default 0)")
    max_read: int = option(0, "largest read request the kernel sends, bytes (0: the kernel's default, 128 KiB)")
    max_readahead: int = option(0, "readahead the daemon allows the kernel, bytes (0: libfuse's default)")
    read_ahead_kb: int = option(0,
                                "the mount's readahead window (its bdi read_ahead_kb) set after mounting; 0: leave it")
    zero_message_open: bool = option(True, "answer open() with ENOSYS so the kernel stops sending opens "
                                           "(FUSE_NO_OPEN_SUPPORT; libfuse 3 only, ignored on 2)")

    def as_mount_options(self) -> dict:
        """What libfuse takes as mount options (the rest is set by the daemon itself)."""
        opts = {k: v for k, v in asdict(self).items()
                if not isinstance(v, bool) and k not in ("read_ahead_kb", "max_read", "max_readahead")}
        if self.kernel_cache:
            opts["kernel_cache"] = True
        for key in ("max_read", "max_readahead"):
            if getattr(self, key):
                opts[key] = getattr(self, key)
        return opts


def set_read_ahead(mountpoint: str, kb: int) -> bool:
    """Write the mount's readahead window (root only); the kernel default for FUSE is 128 KiB."""
    dev = os.stat(mountpoint).st_dev
    try:
        Path(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb").write_text(f"{kb}\n")
        return True
    except OSError:
        return False


def passthrough_available() -> tuple[bool, str]:
    """FUSE passthrough (kernel ≥ 6.9: reads go straight to a backing file) needs libfuse ≥ 3.16's
    low-level API; say what is missing here."""
    from ctypes.util import find_library

    name = find_library("fuse3") or ""
    kernel = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
    if kernel < (6, 9):
        return False, f"kernel {os.uname().release} has no FUSE passthrough (needs ≥ 6.9)"
    return False, (f"FUSE passthrough needs libfuse ≥ 3.16 and its low-level API with a backing file per inode; "
                   f"this machine has {name or 'no libfuse3'} and mfusepy's high-level API, and this image's bytes "
                   "come from memory and the network, not from a backing file")


def fuse_available() -> tuple[bool, str]:
    """(True, "") when this machine can mount FUSE file systems, else (False, why)."""
    if not os.path.exists("/dev/fuse"):
        return False, "no /dev/fuse on this machine"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return False, "/dev/fuse is not readable and writable by this user"
    if os.geteuid() != 0 and not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return False, "fusermount is not installed (apt-get install fuse3)"
    done = subprocess.run([sys.executable, "-c", "import mfusepy"], capture_output=True, text=True)
    if done.returncode != 0:
        return False, f"libfuse cannot be loaded: {done.stderr.strip().splitlines()[-1] if done.stderr else '?'}"
    return True, ""


def lab_mounts(orphaned_only: bool = False) -> list[str]:
    """Mountpoints of FUSE file systems this lab created (from /proc/mounts); with
    `orphaned_only`, those whose daemon process no longer runs."""
    return [path for path, pid in mount_daemons().items() if not (orphaned_only and _daemon_alive(pid))]


def mount_daemons() -> dict[str, str]:
    """Lab mountpoint → the pid of the daemon serving it (from the ``fsname``)."""
    found = {}
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[0].startswith(FSNAME_PREFIX) and fields[2].startswith("fuse"):
            found[fields[1].replace("\\040", " ")] = fields[0].rpartition(":")[2]
    return found


def _daemon_alive(pid: str) -> bool:
    try:
        return b"trio_lab.daemon" in Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False


def unmount(path: str) -> bool:
    """Unmount one FUSE mountpoint; lazily if it is busy. True if it is gone."""
    for command in (["fusermount3", "-u", path], ["fusermount", "-u", path], ["umount", path],
                    ["fusermount3", "-uz", path], ["umount", "-l", path]):
        if shutil.which(command[0]) is None:
            continue
        subprocess.run(command, capture_output=True, timeout=10)
        if path not in lab_mounts():
            return True
    return path not in lab_mounts()


WORKDIR_PREFIX = "sysai-trio-"


def scratch(kind: str, fast: bool = False) -> tempfile.TemporaryDirectory:
    """A temporary folder named after this process (``sysai-trio-KIND-PID-…``), so that
    :func:`cleanup` can remove it when a parent killed with SIGKILL could not; with `fast`, on
    a tmpfs when there is one (metadata trees: thousands of small files)."""
    from trio_lab.overlay import scratch_dir

    return tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{kind}-{os.getpid()}-",
                                       dir=scratch_dir() if fast else None)


def _scratch_owner(folder: Path) -> int | None:
    """The pid in a :func:`scratch` folder's name, or None for any other folder."""
    parts = folder.name[len(WORKDIR_PREFIX):].split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[0].isalpha() and parts[1].isdigit() else None


def cleanup(everything: bool = False) -> list[str]:
    """Unmount every mount the lab left behind (a daemon that is gone; with `everything`, live
    ones too), then remove the work folders of daemons that are gone and the scratch folders of
    processes that are gone (a parent killed with SIGKILL cannot remove its own); returns what
    it handled."""
    handled = lab_mounts(orphaned_only=not everything)
    for path in handled:
        unmount(path)
    from trio_lab.overlay import scratch_dir

    places = dict.fromkeys([Path(tempfile.gettempdir())] + ([Path(scratch_dir())] if scratch_dir() else []))
    for folder in sorted(f for place in places for f in place.glob(WORKDIR_PREFIX + "*")):
        pid, owner = folder / "daemon.pid", _scratch_owner(folder)
        if pid.is_file():
            gone = not _daemon_alive(pid.read_text().strip())
        else:
            gone = owner is not None and not Path(f"/proc/{owner}").exists()
        if gone and not any(m.startswith(str(folder) + "/") for m in lab_mounts()):
            shutil.rmtree(folder, ignore_errors=True)
            handled.append(str(folder))
    return handled


def image_ref(image: Path | str) -> str:
    """An image folder → its manifest digest; anything else is already a registry reference."""
    from trio_lab.store import MANIFEST, manifest_digest

    return manifest_digest(Path(image)) if (Path(image) / MANIFEST).is_file() else str(image)


class MountDaemon:
    """One daemon serving `containers` mounts of one image with one loader.

    `image` is an image folder made by ``sysai trio build`` (the mount is pinned to its
    manifest's digest) or a reference the registry at `url` knows (a name or ``sha256:`` digest);
    the daemon fetches and verifies the manifest over HTTP like everything else.

        with MountDaemon(store, url, "trio", containers=2) as daemon:
            info = daemon.go()            # loaders prepare, then everything is mounted
            ... daemon.mountpoints ...
        daemon.result                     # stats (and the trace when trace=True)
    """

    def __init__(self, image: Path | str, url: str, loader: str, containers: int = 1, cooperative: bool = True,
                 options: FuseOptions | None = None, trace: bool = False, workdir: Path | None = None,
                 cache_capacity: int | None = None, eviction: str = "lru", retries: int = 3, timeout_s: float = 10.0,
                 env: dict | None = None, mountpoint: Path | None = None, log_to_stderr: bool = False,
                 loader_options: dict | None = None, eviction_options: dict | None = None,
                 plugins: list | None = None, seed: int = 0, images: list | None = None, content: bool = False):
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        self.mountpoints = [str(self.workdir / f"c{i}") for i in range(len(images) if images else containers)]
        if mountpoint is not None:
            self.mountpoints[0] = str(Path(mountpoint).resolve())
        # with `content`, also one mount of every image's files by digest (trio_lab.overlay.ContentFS)
        self.content_mountpoint = str(self.workdir / "content") if content else None
        self.spec = {
            "image": image_ref(image), "registry": url, "loader": loader, "mounts": self.mountpoints,
            "cooperative": cooperative, "fuse": asdict(options or FuseOptions()), "trace": trace,
            "cache_capacity": cache_capacity, "eviction": eviction, "retries": retries, "timeout_s": timeout_s,
            "result": str(self.workdir / "result.json"), "loader_options": loader_options or {},
            "eviction_options": eviction_options or {}, "plugins": [str(Path(p).resolve()) for p in plugins or []],
            "seed": seed,
            # one image per mount when given (several images, one daemon, one shared cache)
            "images": [image_ref(i) for i in images] if images else [],
            "content_mount": self.content_mountpoint,
        }
        self.env = env
        self.log_to_stderr = log_to_stderr  # the daemon's log (EIO, digest mismatches) on our stderr
        self.result: dict = {}
        self.proc: subprocess.Popen | None = None
        self._log_tail: str | None = None

    def _all_mounts(self) -> list[str]:
        return self.mountpoints + ([self.content_mountpoint] if self.content_mountpoint else [])

    def __enter__(self) -> "MountDaemon":
        for path in self._all_mounts():
            Path(path).mkdir(parents=True, exist_ok=True)
        spec = self.workdir / "spec.json"
        spec.write_text(json.dumps(self.spec))
        self._log = open(self.workdir / "daemon.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trio_lab.daemon", str(spec)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if self.log_to_stderr else self._log, env={**os.environ, **(self.env or {})},
        )
        (self.workdir / "daemon.pid").write_text(str(self.proc.pid))
        try:
            self._expect("loaded", 60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _expect(self, word: str, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.proc.stdout.readline().decode().strip()
                if not line:
                    raise UserError(f"mount daemon exited: {self._tail()}")
                head, _, body = line.partition(" ")
                if head == "error":
                    if body.startswith("this needs Task "):  # a task stub reached in the daemon: its own pointer
                        raise TaskNotDone(body)
                    raise UserError(f"mount daemon: {body}")
                if head == word:
                    return json.loads(body or "{}")
        finally:
            selector.close()
        raise UserError(f"mount daemon did not answer {word!r} within {timeout:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        if self.log_to_stderr:
            return "see its log above"
        if self._log_tail is not None:  # the work folder is gone: what its log said last
            return self._log_tail
        try:
            self._log.flush()
            text = (self.workdir / "daemon.log").read_text(errors="replace").strip().splitlines()
        except (OSError, ValueError):  # removed by `sysai trio cleanup`, or closed
            return "(its log is gone)"
        return text[-1] if text else "(no log)"

    def _send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def go(self, timeout: float = 300) -> dict:
        """Prepare the loaders (fetching what they fetch at mount) and mount; returns timings."""
        self._send("go")
        return self._expect("ready", timeout)

    def stop(self, timeout: float = 60) -> dict:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send("stop")
                self.proc.wait(timeout=timeout)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        result = Path(self.spec["result"])
        if result.is_file():
            self.result = json.loads(result.read_text())
        return self.result

    def results(self) -> dict:
        """The daemon's result after the `with` block (stats, caches, trace); a daemon that wrote
        none (killed, or still unmounting when stop() gave up) is one line with its log's tail."""
        if not self.result:
            raise UserError(f"the mount daemon wrote no result: {self._tail()}")
        return self.result

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for path in self._all_mounts():
                if path in lab_mounts():
                    unmount(path)
            self._log_tail = self._tail()
            self._log.close()
            if self._own_workdir and not any(m.startswith(str(self.workdir)) for m in lab_mounts()):
                shutil.rmtree(self.workdir, ignore_errors=True)
