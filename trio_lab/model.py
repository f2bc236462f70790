"""The file-system metadata every image format shares: one :class:`Node` per path.

Paths inside an image are absolute POSIX strings ("/", "/numpy/__init__.py"), the form FUSE
hands to its callbacks, so the same key works in the core, the loaders and the mount.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import asdict, dataclass
from typing import Any, Iterable

PAGE = 4096  # the page the kernel caches and TrIO aligns its blob to

FILE, DIR, SYMLINK = "file", "dir", "symlink"


@dataclass(frozen=True)
class Node:
    """One file, directory or symlink: what `stat` and `readlink` need, plus the content digest."""

    kind: str
    mode: int = 0o644
    size: int = 0
    mtime: int = 0
    target: str = ""  # symlink target
    digest: str = ""  # "sha256:<hex>" of a regular file's content

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", 0) or k in ("kind", "mode")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Node":
        return cls(**{k: data[k] for k in ("kind", "mode", "size", "mtime", "target", "digest") if k in data})


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def norm(path: str) -> str:
    """'/a//b/' → '/a/b'; '' → '/'. Does not resolve '..' (callers refuse it first)."""
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if path in ("/", "//") else path


def parent(path: str) -> str:
    return posixpath.dirname(path) or "/"


def ancestors(path: str) -> list[str]:
    """Strict ancestors, nearest first, root last: '/a/b/c' → ['/a/b', '/a', '/']."""
    out = []
    while path != "/":
        path = parent(path)
        out.append(path)
    return out


def is_under(path: str, top: str) -> bool:
    """True when `path` is strictly below directory `top`."""
    return path != top and (top == "/" or path.startswith(top + "/"))


def children_index(paths: Iterable[str]) -> dict[str, list[str]]:
    """dir → sorted child names, for readdir over a flat path → node map."""
    index: dict[str, set[str]] = {}
    for path in paths:
        if path != "/":
            index.setdefault(parent(path), set()).add(posixpath.basename(path))
    return {d: sorted(names) for d, names in index.items()}
