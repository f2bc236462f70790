"""Real FUSE mounts: the tree as `ls`/`stat`/`cat`/`import` see it, traces, EIO, and no mount
ever left behind (daemon SIGTERM, parent SIGKILL, `cleanup`, the CLI's Ctrl-C)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from trio_lab.fetch import BlobClient
from trio_lab.mounts import MountDaemon, cleanup, lab_mounts
from trio_lab.store import Manifest, add_runtime
from trio_lab.trace import Read

pytestmark = [pytest.mark.fuse, pytest.mark.timeout(90), pytest.mark.usefixtures("need_fuse")]


def _gone(path: str, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path not in lab_mounts():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("loader", ["full", "lazy-layered", "lazy-flat", "trio"])
def test_the_mount_looks_like_the_tree(store, registry, tree, loader):
    add_runtime(store, Manifest.load(store), [Read("/pkg/__init__.py", 0, 10)])
    with MountDaemon(store, registry, loader) as daemon:
        daemon.go()
        mnt = daemon.mountpoints[0]
        for path in sorted(tree.rglob("*")):
            rel = path.relative_to(tree)
            mine, real = os.lstat(os.path.join(mnt, rel)), os.lstat(path)
            assert (mine.st_mode, int(mine.st_mtime)) == (real.st_mode, int(real.st_mtime))
            if path.is_symlink():
                assert os.readlink(os.path.join(mnt, rel)) == os.readlink(path)
            elif path.is_dir():
                assert sorted(os.listdir(os.path.join(mnt, rel))) == sorted(os.listdir(path))
            else:
                assert mine.st_size == real.st_size and mine.st_blocks == -(-real.st_size // 512)  # du works
                with open(os.path.join(mnt, rel), "rb") as fh:
                    assert fh.read() == path.read_bytes()
        done = subprocess.run([sys.executable, "-I", "-S", "-B", "-c",
                               f"import sys; sys.path.insert(0, {mnt!r}); import pkg; assert pkg.VALUE == 42"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        with pytest.raises(OSError) as info:
            open(os.path.join(mnt, "pkg", "new.txt"), "w")
        assert info.value.errno in (errno.EROFS, errno.EACCES)
        vfs = os.statvfs(mnt)
        manifest = Manifest.load(store)
        assert vfs.f_files == manifest.files and vfs.f_blocks * vfs.f_frsize >= manifest.flat_bytes
    assert _gone(mnt)


def test_the_daemon_records_a_trace_and_fails_reads_with_eio(store, registry):
    with MountDaemon(store, registry, "lazy-flat", trace=True) as daemon:
        daemon.go()
        mnt = daemon.mountpoints[0]
        with open(os.path.join(mnt, "pkg", "sub", "mod.py"), "rb") as fh:
            assert fh.read() == b"VALUE = 41\n"
        BlobClient(registry).faults(down=True)
        with pytest.raises(OSError) as info:
            with open(os.path.join(mnt, "pkg", "big.bin"), "rb") as fh:
                fh.read(10)
        assert info.value.errno == errno.EIO
    assert ["/pkg/sub/mod.py", 0, 11] in daemon.result["trace"]


def test_sigterm_to_the_daemon_unmounts(store, registry):
    with MountDaemon(store, registry, "lazy-flat", containers=2) as daemon:
        daemon.go()
        assert all(m in lab_mounts() for m in daemon.mountpoints)
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.proc.wait(timeout=20)
        assert all(_gone(m, 1) for m in daemon.mountpoints)


PARENT = """
import sys, time
from trio_lab.mounts import MountDaemon
with MountDaemon(sys.argv[1], sys.argv[2], "lazy-flat") as daemon:
    daemon.go()
    print(daemon.mountpoints[0], flush=True)
    time.sleep(120)
"""


def test_a_killed_parent_leaves_no_mount(store, registry):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(store), registry], stdout=subprocess.PIPE, text=True)
    mnt = ""
    try:
        mnt = parent.stdout.readline().strip()
        assert mnt in lab_mounts()
        parent.kill()  # SIGKILL: no finally runs; the daemon sees its stdin close
        parent.wait()
        assert _gone(mnt)
        workdir = os.path.dirname(mnt)
        pid = open(os.path.join(workdir, "daemon.pid")).read()
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        cleanup()  # `sysai trio cleanup` removes the rest (another checkout's cleanup may have been first)
        assert not os.path.exists(workdir)
    finally:
        parent.kill()
        if mnt and mnt not in lab_mounts():  # the dead parent could not remove its work folder
            shutil.rmtree(os.path.dirname(mnt), ignore_errors=True)


def test_cleanup_unmounts_what_a_dead_daemon_left(store, registry):
    with MountDaemon(store, registry, "lazy-flat") as daemon:
        daemon.go()
        mnt = daemon.mountpoints[0]
        assert mnt not in cleanup() and mnt in lab_mounts()  # a live daemon's mount is not "left behind"
        daemon.proc.kill()  # the daemon dies without unmounting
        daemon.proc.wait()
        assert mnt in lab_mounts()
        assert mnt in cleanup()
        assert _gone(mnt, 1)


def test_cli_mount_unmounts_on_ctrl_c(store, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "sysai", "trio", "mount", str(store), str(mnt), "--loader",
                             "lazy-flat"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mounted"), line + proc.stderr.read()
        assert sorted(os.listdir(mnt)) == ["pkg"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "unmounted" in out and _gone(str(mnt.resolve()), 1)
        assert err == "", "nothing on stderr: no libfuse notices (3.14's max_idle_threads), no traceback"
    finally:
        proc.kill()


def test_registry_down_at_mount_is_a_clear_error_and_leaves_nothing(store, registry):
    from sysai.errors import UserError

    BlobClient(registry).faults(down=True)
    with MountDaemon(store, registry, "lazy-flat", retries=1) as daemon:
        with pytest.raises(UserError, match="failed after 2 attempts"):
            daemon.go(timeout=30)
        assert daemon.mountpoints[0] not in lab_mounts()


def test_registry_stopped_mid_start_gives_eio_and_a_log_line_then_ctrl_c_unmounts(store, tmp_path):
    """`sysai trio serve` in one process, `sysai trio mount --registry` in another; stop the registry."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    serve = subprocess.Popen([sys.executable, "-m", "sysai", "trio", "serve", str(store), "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mount = None
    try:
        url = serve.stdout.readline().split()[2]
        assert serve.stdout.readline().startswith("image 'test'")
        mount = subprocess.Popen([sys.executable, "-m", "sysai", "trio", "mount", "test", str(mnt), "--registry", url,
                                  "--loader", "lazy-flat"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = mount.stdout.readline()
        assert line.startswith("mounted"), line + mount.stderr.read()
        assert (mnt / "pkg" / "sub" / "mod.py").read_text() == "VALUE = 41\n"
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=20) == 0
        start = time.monotonic()
        with pytest.raises(OSError) as info:
            (mnt / "pkg" / "big.bin").read_bytes()
        assert info.value.errno == errno.EIO and time.monotonic() - start < 10  # bounded retries, no hang
        mount.send_signal(signal.SIGINT)
        out, err = mount.communicate(timeout=30)
        assert mount.returncode == 0 and "unmounted" in out and "EIO on /pkg/big.bin" in err
        assert _gone(str(mnt.resolve()), 1)
    finally:
        for proc in (serve, mount):
            if proc is not None:
                proc.kill()


def test_cleanup_removes_scratch_folders_of_dead_processes_only():
    """bench/compare/together keep big scratch trees (a materialized image, metadata trees);
    a parent killed with SIGKILL leaves them, and `cleanup` takes them away."""
    from pathlib import Path

    from trio_lab.mounts import scratch

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    with scratch("native") as mine:
        left = Path(mine).parent / f"sysai-trio-native-{pid}-abc"
        left.mkdir()
        (left / "file").write_text("x")
        handled = cleanup()
        assert str(left) in handled and not left.exists()
        assert Path(mine).is_dir() and mine not in handled  # this process is alive: its folder stays


def test_a_daemon_that_wrote_no_result_is_one_line_not_a_key_error(store, registry, need_fuse):
    from sysai.errors import UserError

    with MountDaemon(store, registry, "lazy-flat") as daemon:
        daemon.go()
        os.kill(daemon.proc.pid, signal.SIGKILL)  # no result file, the mount left for __exit__
        daemon.proc.wait()
    with pytest.raises(UserError, match="the mount daemon wrote no result"):
        daemon.results()
    assert daemon.mountpoints[0] not in lab_mounts()


STUB_LOADER = """
from sysai.errors import TaskNotDone
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_flat import LazyFlat


@LOADERS.register("stubbed-flat", default=False)
class StubbedFlat(LazyFlat):
    def prepare(self):
        raise TaskNotDone("1.5")
"""


def test_a_task_stub_reached_in_the_daemon_is_the_attendees_pointer(tmp_path, store, registry, need_fuse):
    from sysai.errors import TaskNotDone

    plugin = tmp_path / "stubbed.py"
    plugin.write_text(STUB_LOADER)
    with MountDaemon(store, registry, "stubbed-flat", plugins=[plugin]) as daemon:
        with pytest.raises(TaskNotDone) as info:
            daemon.go()
    assert str(info.value).startswith("this needs Task 1.5 (labs/trio.md") and info.value.task == "1.5"


def test_zero_message_opens_the_kernel_asks_once_then_opens_alone(store, registry, tree):
    """On libfuse 3 the daemon answers the first open() with ENOSYS; the kernel then opens every
    file of the mount without asking, and the bytes are still the image's (trio_lab.fuseops)."""
    from trio_lab.mounts import FuseOptions

    files = [p for p in sorted(tree.rglob("*")) if p.is_file() and not p.is_symlink()]
    with MountDaemon(store, registry, "lazy-flat") as daemon:
        info = daemon.go()
        mnt = daemon.mountpoints[0]
        for _ in range(3):
            for path in files:
                with open(os.path.join(mnt, path.relative_to(tree)), "rb") as fh:
                    assert fh.read() == path.read_bytes()
    if not info["zero_message_open"]:
        pytest.skip(f"{info['libfuse']}: the kernel cannot skip opens with libfuse 2")
    assert daemon.results()["open_requests"] == 1, "every open after the first stays in the kernel"
    with MountDaemon(store, registry, "lazy-flat", options=FuseOptions(zero_message_open=False)) as daemon:
        assert daemon.go()["zero_message_open"] is False
        with open(os.path.join(daemon.mountpoints[0], files[0].relative_to(tree)), "rb") as fh:
            assert fh.read() == files[0].read_bytes()
    assert daemon.results()["open_requests"] == 0  # libfuse answers each open itself, one round trip each
