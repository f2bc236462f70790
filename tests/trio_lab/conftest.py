"""Fixtures for the TrIO lab: a small real tree, its image, a registry on 127.0.0.1, FUSE checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sysai.http import serve_in_thread
from trio_lab.mounts import fuse_available, lab_mounts, mount_daemons
from trio_lab.blobserver import make_app
from trio_lab.store import build_from_dir


def make_tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("from pkg.sub import mod\nVALUE = mod.VALUE + 1\n")
    (root / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "mod.py").write_text("VALUE = 41\n")
    (root / "pkg" / "big.bin").write_bytes(bytes(range(256)) * 20000)  # 5 MB: several chunks
    (root / "pkg" / "empty.txt").write_bytes(b"")
    (root / "pkg" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "pkg" / "run.sh").chmod(0o755)
    (root / "pkg" / "link.py").symlink_to("sub/mod.py")
    for path in root.rglob("*"):
        if not path.is_symlink():
            os.utime(path, (1_700_000_000, 1_700_000_000))
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return make_tree(tmp_path / "tree")


@pytest.fixture
def store(tmp_path, tree) -> Path:
    build_from_dir(tmp_path / "store", tree, "test")
    return tmp_path / "store"


@pytest.fixture
def registry(store):
    with serve_in_thread(make_app(store)) as url:
        yield url


@pytest.fixture
def need_fuse():
    ok, why = fuse_available()
    if not ok:
        pytest.skip(f"FUSE unavailable: {why}")
    before = set(lab_mounts())
    yield
    left = set(_ours()) - before
    assert not left, f"mounts left behind: {left}"


def _ours() -> list[str]:
    """Lab mounts this test run is responsible for: their daemon is gone, or descends from us
    (other checkouts may run these tests on the same machine at the same time)."""
    def descends(pid: str) -> bool:
        try:
            while pid not in ("0", "1"):
                if pid == str(os.getpid()):
                    return True
                pid = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
        except (OSError, IndexError):
            pass
        return False

    orphaned = set(lab_mounts(orphaned_only=True))
    # no pid in the fsname: a mount made by an older checkout of this lab, not by this run
    return [m for m, pid in mount_daemons().items() if pid.isdigit() and (m in orphaned or descends(pid))]


@pytest.fixture(scope="session", autouse=True)
def _private_build_cache(tmp_path_factory):
    """Workload builds and traces are cached per machine; tests keep theirs to themselves."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous
