"""Containers on this host: a mount + pid namespace and a memory cgroup each, and the kernel's
own count of the page cache they use (issue 15 §1; FlacIO's "collective" half, measured).

FlacIO shares the runtime page cache between the containers of a host: the kernel keeps one
copy of each page. Whether it can depends on *inodes*: the page cache hangs off an inode, so N
containers reading N FUSE mounts of one image (N superblocks, N inodes per file) hold N copies,
while N containers whose roots are bind mounts of one daemon-wide mount read the same inodes
and hold one — like N containers of one image on overlayfs sharing the lower layer's pages.

A container here is ``setpriv --pdeathsig KILL`` → ``unshare --mount --pid --fork --kill-child
--propagation private`` → ``mount --bind IMAGE ROOT`` (or an overlay root, :mod:`trio_lab.overlay`)
→ the start command, with ROOT the same path in every namespace. Its process is placed in its
own memory cgroup (v1 ``memory`` or v2, whichever this machine has) before anything runs, so
every page it faults in is charged there:
``memory.stat`` ``cache`` (v1) / ``file`` (v2) is the kernel's count. ``fincore`` (mincore) on
the image's files counts resident pages per inode, the second, independent view.

Clean-up is by construction where possible: a bind mount lives only in its container's mount
namespace and dies with it; the namespace dies with its pid 1, which ``--kill-child`` kills when
``unshare`` dies, which ``--pdeathsig`` kills when the parent dies (even by SIGKILL). Only the
(empty) cgroup directories can outlive a killed parent; :func:`cleanup_cgroups` (run by
``sysai trio cleanup`` and before every measurement) removes those whose creator is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_PREFIX = "sysai-trio-"
V1 = Path("/sys/fs/cgroup/memory")
V2 = Path("/sys/fs/cgroup")
# sh inside the namespace: mount the image's root (`mount -t TYPE -o OPTIONS SOURCE ROOT`), then
# become the start command
_INSIDE = 'mount -t "$0" -o "$1" "$2" "$3" && shift 3 && exec "$@"'
# sh outside: join the cgroup first (so nothing escapes the count), then enter the namespaces
_OUTSIDE = ('echo $$ > "$0/cgroup.procs" && exec unshare --mount --pid --fork --kill-child '
            '--propagation private -- sh -c \'' + _INSIDE + '\' "$@"')


@dataclass(frozen=True)
class MemoryCgroups:
    """Where this process may create memory cgroups, and which counter holds page cache."""

    base: Path
    version: int

    @property
    def counter(self) -> str:
        return "cache" if self.version == 1 else "file"

    def create(self, name: str) -> Path:
        path = self.base / name
        path.mkdir()
        return path

    def file_bytes(self, path: Path) -> int:
        """Page-cache bytes charged to cgroup `path` (its own, not its children's)."""
        for line in (path / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == self.counter:
                return int(value)
        raise OSError(f"{path}/memory.stat has no {self.counter!r} line")

    def remove(self, path: Path, timeout_s: float = 5.0) -> bool:
        """rmdir once the cgroup has no task left (the kernel reparents its charged pages)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)


def _own_cgroup(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controller == "" and controllers == ""):
            return path
    return "/"


def find_cgroups() -> tuple[MemoryCgroups | None, str]:
    """The memory cgroup hierarchy this process can create children in, or (None, what is missing)."""
    if V1.is_dir() and (V1 / "memory.stat").is_file():
        base = V1 / _own_cgroup("memory").lstrip("/")
        version = 1
    elif (V2 / "cgroup.controllers").is_file() and "memory" in (V2 / "cgroup.controllers").read_text().split():
        base = V2 / _own_cgroup("").lstrip("/")
        version = 2
        if "memory" not in (base / "cgroup.subtree_control").read_text().split():
            return None, f"the cgroup v2 memory controller is not enabled below {base} (cgroup.subtree_control)"
    else:
        return None, "no memory cgroup: neither /sys/fs/cgroup/memory (v1) nor a cgroup v2 memory controller"
    probe = base / f"{CGROUP_PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return None, f"cannot create a memory cgroup in {base} ({exc.strerror})"
    return MemoryCgroups(base, version), ""


def host_support() -> tuple[MemoryCgroups | None, str]:
    """(cgroups, "") when containers can be made here, else (None, one line naming what is missing)."""
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return None, f"{tool} is not installed (util-linux)"
    if os.geteuid() != 0:
        return None, "mount namespaces with bind mounts need root (CAP_SYS_ADMIN)"
    done = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "true"],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return None, f"unshare --mount --pid is not allowed here: {done.stderr.strip() or done.returncode}"
    return find_cgroups()


@dataclass(frozen=True)
class RootSource:
    """What a container's root is mounted from, inside its own mount namespace."""

    fstype: str
    options: str
    source: str

    @classmethod
    def bind(cls, path: str | Path) -> "RootSource":
        """A bind mount of `path` (an image mount or a local tree): the same inodes as `path`."""
        return cls("none", "bind", str(path))

    @classmethod
    def overlay(cls, meta: str | Path, content: str | Path) -> "RootSource":
        """An overlay of an image's metadata tree over a content-addressed store (trio_lab.overlay)."""
        from trio_lab.overlay import overlay_options

        return cls("overlay", overlay_options(meta, content), "overlay")


@dataclass
class ContainerRun:
    returncode: int
    cache_bytes: int  # the cgroup's page-cache counter after the container exited
    stderr: str = ""


@dataclass
class Containers:
    """N containers started together, each on its own image source bound onto `root`.

        with Containers(cgroups, workdir, tag) as box:
            runs = box.run(sources, argv)      # argv uses `root`, the same path in every container
    """

    cgroups: MemoryCgroups
    workdir: Path
    tag: str
    root: Path = field(init=False)
    _paths: list[Path] = field(default_factory=list)
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.workdir) / "rootfs"

    def __enter__(self) -> "Containers":
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def start(self, sources: list, argv: list[str]) -> list[Path]:
        """One container per source (a path to bind, or a :class:`RootSource`)."""
        for source in sources:
            root = source if isinstance(source, RootSource) else RootSource.bind(source)
            cgroup = self.cgroups.create(f"{CGROUP_PREFIX}{os.getpid()}-{self.tag}-c{len(self._paths)}")
            self._paths.append(cgroup)
            self._procs.append(subprocess.Popen(
                ["setpriv", "--pdeathsig", "KILL", "--", "sh", "-c", _OUTSIDE, str(cgroup), root.fstype, root.options,
                 root.source, str(self.root), *argv],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/"))
        return list(self._paths)

    def wait(self, timeout_s: float = 300.0) -> list[ContainerRun]:
        deadline = time.monotonic() + timeout_s
        runs = []
        for proc, cgroup in zip(self._procs, self._paths):
            try:
                _, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            runs.append(ContainerRun(proc.returncode, self.cgroups.file_bytes(cgroup),
                                     err.decode(errors="replace").strip()[-300:]))
        return runs

    def run(self, sources: list, argv: list[str], timeout_s: float = 300.0) -> list[ContainerRun]:
        self.start(sources, argv)
        return self.wait(timeout_s)

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()  # unshare dies → --kill-child kills the namespace's pid 1 → the namespace
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for path in self._paths:
            self.cgroups.remove(path)
        self._procs.clear()
        self._paths.clear()


def cleanup_cgroups() -> list[str]:
    """Remove this lab's memory cgroups whose creating process is gone (a parent killed -9)."""
    cgroups, _ = find_cgroups()
    if cgroups is None:
        return []
    removed = []
    for path in sorted(cgroups.base.glob(CGROUP_PREFIX + "*")):
        pid = path.name[len(CGROUP_PREFIX):].partition("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and cgroups.remove(path, timeout_s=1):
            removed.append(str(path))
    return removed


# --- the page cache: counting and dropping --------------------------------------------------

def resident_bytes(files: list[str]) -> int | None:
    """Bytes of `files` in the page cache (``fincore``, i.e. mincore); None without fincore."""
    if shutil.which("fincore") is None:
        return None
    total = 0
    for i in range(0, len(files), 400):
        done = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", *files[i:i + 400]],
                              capture_output=True, text=True, timeout=120)
        total += sum(int(x) for x in done.stdout.split())
    return total


def drop_pages(paths: list[str]) -> None:
    """posix_fadvise(DONTNEED) each file: its clean pages leave the page cache (cold means cold)."""
    for path in paths:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def drop_caches() -> bool:
    """Write 1 to /proc/sys/vm/drop_caches (all clean page cache, machine-wide) if allowed."""
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


def regular_files(root: Path) -> list[str]:
    out = []
    for dirpath, _, names in os.walk(root):
        out += [p for p in (os.path.join(dirpath, n) for n in names) if os.path.isfile(p) and not os.path.islink(p)]
    return out


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM unwinds like Ctrl-C (so every finally runs: mounts, namespaces, cgroups)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: the caller handles signals
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
