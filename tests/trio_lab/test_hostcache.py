"""Containers on the host (issue 15 §1): namespaces + memory cgroups, the kernel's page-cache
counters, and nothing left behind — after Ctrl-C/SIGTERM, kill -9 of the parent, or an error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trio_lab.hostcache import CGROUP_PREFIX, Containers, cleanup_cgroups, host_support
from trio_lab.overlay import overlay_support

CGROUPS, WHY = host_support()
need_host = pytest.mark.skipif(CGROUPS is None, reason=f"containers not available here: {WHY}")


def _procs(cgroup: str) -> list[str]:
    try:
        return Path(cgroup, "cgroup.procs").read_text().split()
    except FileNotFoundError:
        return []


def _wait(predicate, timeout=20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@need_host
def test_a_container_has_its_own_namespaces_and_cgroup(tmp_path):
    src = tmp_path / "img"
    src.mkdir()
    (src / "hello").write_text("from the image\n")
    out = tmp_path / "out"
    with Containers(CGROUPS, tmp_path / "w", "t") as box:
        probe = (f"cat {box.root}/hello > {out}; readlink /proc/self/ns/mnt >> {out}; "
                 f"echo $$ >> {out}; cat /proc/self/cgroup >> {out}")
        runs = box.run([str(src)], ["sh", "-c", probe])
        assert runs[0].returncode == 0, runs[0].stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "from the image"
    assert lines[1] != os.readlink("/proc/self/ns/mnt")  # its own mount namespace
    assert lines[2] == "1"  # pid 1 of its own pid namespace
    assert f"{CGROUP_PREFIX}{os.getpid()}-t-c0" in "\n".join(lines[3:])
    assert not os.path.ismount(box.root)  # the bind mount never reached the host's namespace


@need_host
def test_an_error_inside_leaves_no_cgroup_and_no_process(tmp_path):
    with pytest.raises(RuntimeError):
        with Containers(CGROUPS, tmp_path, "err") as box:
            cgroups = box.start([str(tmp_path)] * 2, ["sleep", "60"])
            assert _wait(lambda: all(_procs(c) for c in cgroups))
            raise RuntimeError("a failing test")
    assert not any(Path(c).exists() for c in cgroups)


PARENT = """
import json, sys, time
from pathlib import Path
from sysai.http import serve_in_thread
from trio_lab.blobserver import make_app
from trio_lab.hostcache import Containers, host_support, sigterm_as_interrupt
from trio_lab.mounts import MountDaemon
cgroups, _ = host_support()
with sigterm_as_interrupt(), serve_in_thread(make_app(sys.argv[1])) as url, \\
        MountDaemon(sys.argv[1], url, "lazy-flat") as daemon, Containers(cgroups, Path(sys.argv[2]), "k") as box:
    daemon.go()
    paths = box.start(daemon.mountpoints * 2, ["sh", "-c", f"cat {box.root}/pkg/sub/mod.py >/dev/null; sleep 60"])
    print(json.dumps({"cgroups": [str(p) for p in paths], "mount": daemon.mountpoints[0]}), flush=True)
    time.sleep(60)
"""


@need_host
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_signalled_parent_leaves_no_mount_namespace_or_cgroup(tmp_path, store, how, need_fuse):
    from trio_lab.mounts import lab_mounts

    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(store), str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)
    try:
        info = json.loads(parent.stdout.readline())
        assert _wait(lambda: all(len(_procs(c)) >= 1 for c in info["cgroups"]))
        inside = [pid for c in info["cgroups"] for pid in _procs(c)]
        parent.send_signal(how)
        parent.wait(timeout=30)
        # every process of every container is gone, so are their namespaces and bind mounts
        assert _wait(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in inside))
        assert _wait(lambda: info["mount"] not in lab_mounts())  # the daemon-wide mount
        if how == signal.SIGKILL:  # no finally ran: only empty cgroup folders are left, and cleanup removes them
            assert all(not _procs(c) for c in info["cgroups"])
            removed = cleanup_cgroups()
            assert all(c in removed or not os.path.exists(c) for c in info["cgroups"])
        assert not any(os.path.exists(c) for c in info["cgroups"])
    finally:
        parent.kill()
        parent.wait()


@need_host
def test_n_containers_on_one_shared_mount_hold_one_copy_of_each_page(tmp_path, store, need_fuse):
    """The kernel's own counters: private mounts hold N copies, the shared mount one."""
    from trio_lab.experiments import measure_host_cache
    from trio_lab.store import Manifest, add_runtime
    from trio_lab.trace import Read

    reads = [Read("/pkg/big.bin", 0, 5_120_000), Read("/pkg/sub/mod.py", 0, 11)]
    add_runtime(store, Manifest.load(store), reads)
    cat = type("Cat", (), {"name": "cat", "command": lambda self, root, modules=None:
                           ["sh", "-c", f"cat {root}/pkg/big.bin {root}/pkg/sub/mod.py > /dev/null"]})()
    res = measure_host_cache(store, cat, reads, [1, 3])
    one, b = res["host_cache_bytes"]["one"], res["host_cache_bytes"]
    assert one >= 5_000_000  # big.bin was read, and charged to the container that read it
    assert b["private"] >= 2.9 * one  # three mounts: three inodes per file, three copies
    assert b["shared"] <= 1.1 * one  # one mount bound into three roots: one copy
    assert b["native"] <= 1.1 * res["resident_bytes"]["native"] + 1_000_000
    assert res["resident_bytes"]["private"] >= 2.9 * res["resident_bytes"]["one"]


OVERLAY_OK, OVERLAY_WHY = overlay_support()


def _two_images(tmp_path):
    """Two images holding one identical 2 MB file (under different paths) and one file each."""
    import random

    from trio_lab.store import build_from_dir

    shared = random.Random(1).randbytes(2 << 20)
    stores = []
    for i, where in enumerate(("lib/common.bin", "opt/vendor/same.bin")):
        tree = tmp_path / f"tree{i}"
        (tree / where).parent.mkdir(parents=True)
        (tree / where).write_bytes(shared)
        (tree / "own.bin").write_bytes(random.Random(10 + i).randbytes(1 << 20))
        build_from_dir(tmp_path / f"store{i}", tree, f"img{i}")
        stores.append(tmp_path / f"store{i}")
    return stores, ["lib/common.bin", "opt/vendor/same.bin"]


def test_the_metadata_tree_redirects_each_file_to_its_content(tmp_path):
    from trio_lab.model import DIR, FILE, SYMLINK, Node
    from trio_lab.overlay import METACOPY, REDIRECT, build_meta_tree

    nodes = {"/": Node(DIR, 0o755), "/d": Node(DIR, 0o750, mtime=1_700_000_000),
             "/d/f": Node(FILE, 0o640, 5000, 1_700_000_000, digest="sha256:" + "ab" * 32),
             "/d/empty": Node(FILE, 0o644), "/l": Node(SYMLINK, 0o777, target="/etc/hosts")}
    try:
        meta = build_meta_tree(nodes, tmp_path / "meta")
    except Exception as exc:  # no trusted.* xattrs for this user
        pytest.skip(str(exc))
    stub = meta / "d" / "f"
    assert stub.stat().st_size == 5000 and stub.stat().st_blocks * 512 <= 4096  # sparse (at most an xattr block)
    assert os.getxattr(stub, REDIRECT) == b"/" + b"ab" * 32 and os.getxattr(stub, METACOPY) == b""
    assert (stub.stat().st_mode & 0o7777, int(stub.stat().st_mtime)) == (0o640, 1_700_000_000)
    assert os.readlink(meta / "l") == "/etc/hosts" and (meta / "d" / "empty").stat().st_size == 0
    assert METACOPY not in os.listxattr(meta / "d" / "empty")


@need_host
@pytest.mark.skipif(not OVERLAY_OK, reason=f"no overlayfs data-only layers: {OVERLAY_WHY}")
def test_two_images_on_one_content_mount_hold_one_copy_of_their_common_file(tmp_path, need_fuse):
    """Per-image mounts: two inodes, two copies of the common file. Overlay roots over the
    daemon's content mount: one inode, one copy — counted by the cgroups."""
    from sysai.http import serve_in_thread
    from trio_lab.blobserver import make_app
    from trio_lab.loaders.base import LOADERS  # noqa: F401  (registers the loaders)
    from trio_lab.mounts import MountDaemon
    from trio_lab.overlay import build_meta_tree
    from trio_lab.store import Manifest, load_content
    from trio_lab.hostcache import RootSource

    stores, common = _two_images(tmp_path)
    metas = [build_meta_tree(load_content(s, Manifest.load(s)).nodes(), tmp_path / f"meta{i}")
             for i, s in enumerate(stores)]
    totals = {}
    with serve_in_thread(make_app(stores)) as url:
        for mode in ("per-image", "content"):
            with MountDaemon(stores[0], url, "lazy-flat", images=stores, content=mode == "content") as daemon:
                daemon.go()
                roots = ([RootSource.bind(m) for m in daemon.mountpoints] if mode == "per-image" else
                         [RootSource.overlay(meta, daemon.content_mountpoint) for meta in metas])
                with Containers(CGROUPS, tmp_path / mode, mode) as box:
                    for root, path in zip(roots, common):
                        box.start([root], ["sh", "-c", f"cat {box.root}/{path} {box.root}/own.bin > /dev/null"])
                    runs = box.wait()
            assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
            totals[mode] = sum(r.cache_bytes for r in runs)
    assert totals["per-image"] >= 5.8 * (1 << 20)  # 2 × (2 MB common + 1 MB own)
    assert totals["content"] <= totals["per-image"] - 1.8 * (1 << 20)  # the common file once
