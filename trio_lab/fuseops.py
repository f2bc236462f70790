"""The FUSE adapter: mfusepy callbacks forwarded to :class:`trio_lab.vfs.ImageFS` (read-only).

mfusepy is the maintained fork of fusepy (same ``Operations`` API; fusepy's last release is from
2018 and it cannot drive libfuse3). It loads libfuse 2 when ``find_library('fuse')`` finds it,
else libfuse 3; ``FUSE_LIBRARY_PATH`` overrides. ``TRIO_FUSE_BINDING=fuse`` switches to fusepy
(if installed) so the benchmark can compare the two. Imported only inside the mount daemon.
"""

from __future__ import annotations

import importlib
import os

from trio_lab.vfs import ImageFS

binding = importlib.import_module(os.environ.get("TRIO_FUSE_BINDING", "mfusepy"))


def _libfuse() -> str:
    major = getattr(binding, "fuse_version_major", None)
    minor = getattr(binding, "fuse_version_minor", None)
    if major is None:  # fusepy: ask the library itself (libfuse 2 encodes 2.9 as 29)
        major, minor = divmod(binding._libfuse.fuse_version(), 10)
    return f"{binding.__name__} + libfuse {major}.{minor}"


LIBFUSE = _libfuse()


class ImageOps(binding.Operations):
    """No `open`/`release`/`flush`: libfuse answers those itself (the mount is ``ro``, so writes
    fail with EROFS in the kernel), which saves a Python round trip per opened file."""

    use_ns = True  # st_mtime in nanoseconds

    def __init__(self, fs: ImageFS):
        self.fs = fs

    def getattr(self, path, fh=None):
        return self.fs.getattr(path)

    def readdir(self, path, fh):
        return self.fs.readdir(path)

    def readlink(self, path):
        return self.fs.readlink(path)

    def read(self, path, size, offset, fh):
        return self.fs.read(path, size, offset)

    def statfs(self, path):
        return self.fs.statfs()


def serve(fs: ImageFS, mountpoint: str, fsname: str, options: dict) -> None:
    """Block serving `mountpoint` until it is unmounted (run in a thread of the daemon)."""
    binding.FUSE(ImageOps(fs), mountpoint, foreground=True, ro=True, fsname=fsname, **options)
