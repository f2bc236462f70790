"""The read-only file-system API every loader is served through, mounted or not.

The FUSE adapter (:mod:`trio_lab.fuseops`) forwards its callbacks here; without FUSE the same
object is called in-process (replaying a trace). Errors are ``OSError`` with an errno: ENOENT
for a missing path, EIO when the registry failed or bytes did not verify.
"""

from __future__ import annotations

import errno
import logging
import stat
from typing import Any

from trio_lab.fetch import FetchError
from trio_lab.loaders.base import Loader
from trio_lab.model import DIR, FILE, SYMLINK, Node
from trio_lab.trace import Read, Tracer

log = logging.getLogger("trio_lab.vfs")

_TYPE = {FILE: stat.S_IFREG, DIR: stat.S_IFDIR, SYMLINK: stat.S_IFLNK}


class ImageFS:
    def __init__(self, loader: Loader, tracer: Tracer | None = None):
        self.loader = loader
        self.tracer = tracer or Tracer(enabled=False)
        self.open_requests = 0  # opens the kernel sent (zero-message opens: one per mount)

    def node(self, path: str) -> Node:
        try:  # a lookup may fetch metadata too (trio's full index, beyond the start's metadata)
            node = self.loader.tree.lookup(path)
        except FetchError as exc:
            log.error("EIO on lookup of %s: %s", path, exc)
            raise OSError(errno.EIO, str(exc), path) from None
        if node is None:
            raise OSError(errno.ENOENT, "no such file in the image", path)
        return node

    def getattr(self, path: str) -> dict[str, Any]:
        node = self.node(path)
        mtime = int(node.mtime) * 10**9  # nanoseconds: .pyc validation compares source mtimes
        return {
            "st_mode": _TYPE[node.kind] | (node.mode & 0o7777),
            "st_size": node.size if node.kind != DIR else 4096,
            "st_nlink": 2 if node.kind == DIR else 1,
            "st_blocks": -(-node.size // 512) if node.kind == FILE else 0,  # what `du` and `ls -s` add up
            "st_uid": 0,
            "st_gid": 0,
            "st_mtime": mtime,
            "st_ctime": mtime,
            "st_atime": mtime,
        }

    def statfs(self) -> dict[str, int]:
        """`df` on the mount: the flattened image's size and file count, nothing free (read-only)."""
        manifest = self.loader.ctx.manifest
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": -(-manifest.flat_bytes // 4096), "f_bfree": 0,
                "f_bavail": 0, "f_files": manifest.files, "f_ffree": 0, "f_namemax": 255}

    def readdir(self, path: str) -> list[str]:
        if self.node(path).kind != DIR:
            raise OSError(errno.ENOTDIR, "not a directory", path)
        try:
            return [".", ".."] + self.loader.tree.listdir(path)
        except FetchError as exc:
            log.error("EIO on listing %s: %s", path, exc)
            raise OSError(errno.EIO, str(exc), path) from None

    def readlink(self, path: str) -> str:
        node = self.node(path)
        if node.kind != SYMLINK:
            raise OSError(errno.EINVAL, "not a symlink", path)
        return node.target

    def read(self, path: str, size: int, offset: int) -> bytes:
        node = self.node(path)
        if node.kind != FILE:
            raise OSError(errno.EISDIR, "not a regular file", path)
        if offset >= node.size or size <= 0:
            return b""
        size = min(size, node.size - offset)
        self.tracer.record(path, offset, size)
        try:
            return self.loader.read(path, node, offset, size)
        except FetchError as exc:
            log.error("EIO on %s: %s", path, exc)
            raise OSError(errno.EIO, str(exc), path) from None

    def replay(self, reads: list[Read]) -> int:
        """Re-issue a recorded trace in-process; returns the bytes read."""
        return sum(len(self.read(r.path, r.length, r.offset)) for r in reads)
