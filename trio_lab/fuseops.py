"""The FUSE adapter: mfusepy callbacks forwarded to :class:`trio_lab.vfs.ImageFS` (read-only).

mfusepy is the maintained fork of fusepy (same ``Operations`` API; fusepy's last release is from
2018 and it cannot drive libfuse3). Left alone it loads libfuse 2 whenever that is installed;
here it loads **libfuse 3** where installed, because only libfuse 3 lets the kernel skip opens
(below). ``FUSE_LIBRARY_PATH`` overrides; ``TRIO_FUSE_BINDING=fuse`` switches to fusepy (if
installed, libfuse 2 only) so the benchmark can compare. Imported only inside the mount daemon.

**Zero-message opens.** The kernel caches a file's pages (``kernel_cache``), its attributes and
its lookups, but not opens: each ``open()`` is a round trip to this Python daemon, and a warm
read of 4,000 small files is mostly those. A libfuse 3 file system that answers ``open`` with
ENOSYS tells the kernel (``FUSE_NO_OPEN_SUPPORT``) to stop sending opens for this mount; files
are then opened in the kernel alone, keeping their cached pages — right for an immutable image.
"""

from __future__ import annotations

import errno
import importlib
import os
from ctypes.util import find_library

from trio_lab.vfs import ImageFS

LIBFUSE3 = find_library("fuse3")
if LIBFUSE3 and "FUSE_LIBRARY_PATH" not in os.environ:  # read by mfusepy at import
    os.environ["FUSE_LIBRARY_PATH"] = LIBFUSE3
binding = importlib.import_module(os.environ.get("TRIO_FUSE_BINDING", "mfusepy"))


def fuse_version() -> int:
    """The libfuse major version the binding loaded (fusepy drives libfuse 2 only)."""
    return getattr(binding, "fuse_version_major", 2)


def _libfuse() -> str:
    major = getattr(binding, "fuse_version_major", None)
    minor = getattr(binding, "fuse_version_minor", None)
    if major is None:  # fusepy: ask the library itself (libfuse 2 encodes 2.9 as 29)
        major, minor = divmod(binding._libfuse.fuse_version(), 10)
    return f"{binding.__name__} + libfuse {major}.{minor}"


LIBFUSE = _libfuse()
CAN_SKIP_OPENS = fuse_version() >= 3


class ImageOps(binding.Operations):
    """No `open`/`release`/`flush` here: libfuse answers those itself (the mount is ``ro``, so
    writes fail with EROFS in the kernel) without a call into Python — but each `open` is still
    a round trip from the kernel to this process; :class:`ImageOpsNoOpen` removes those too."""

    use_ns = True  # st_mtime in nanoseconds

    def __init__(self, fs: ImageFS, max_readahead: int = 0, max_read: int = 0):
        self.fs = fs
        self.max_readahead, self.max_read = max_readahead, max_read

    def init_with_config(self, conn, config):
        # libfuse 3 took max_readahead out of the mount options, and refuses a max_read mount
        # option that the connection does not repeat (EPROTO): both are set on the connection
        if conn is not None and self.max_readahead:
            conn.max_readahead = self.max_readahead
        if conn is not None and self.max_read:
            conn.max_read = self.max_read

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


class ImageOpsNoOpen(ImageOps):
    """`open` answered ENOSYS: the kernel opens this mount's files without asking again."""

    def open(self, path, flags):
        self.fs.open_requests += 1  # the kernel asks once per mount, then opens alone
        raise binding.FuseOSError(errno.ENOSYS)


def serve(fs: ImageFS, mountpoint: str, fsname: str, options: dict, zero_message_open: bool = False) -> None:
    """Block serving `mountpoint` until it is unmounted (run in a thread of the daemon)."""
    options, on_connection = dict(options), (0, 0)
    if fuse_version() >= 3:
        # libfuse 3.14's fuse_main takes an unset max_idle_threads (2^32 - 1) for a bad value and
        # says so on stderr; 10 was its default
        options.setdefault("max_idle_threads", 10)
        on_connection = (options.pop("max_readahead", 0), options.get("max_read", 0))
    ops = (ImageOpsNoOpen if zero_message_open and CAN_SKIP_OPENS else ImageOps)(fs, *on_connection)
    binding.FUSE(ops, mountpoint, foreground=True, ro=True, fsname=fsname, **options)
