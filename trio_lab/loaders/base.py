"""The loader extension point, and the two metadata views loaders serve lookups from.

A loader is one class in one file of this package::

    @LOADERS.register("my-loader")
    class MyLoader(Loader):
        def read(self, path, node, offset, size): ...

``prepare()`` (optional) runs once at mount, before the container starts: it is where `full`
downloads every layer and `trio` fetches its runtime blob. ``read()`` returns the bytes of a
regular file; raising :class:`trio_lab.fetch.FetchError` becomes EIO at the mount.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

from sysai.registry import Registry
from trio_lab.cache import RuntimeCache
from trio_lab.fetch import BlobClient
from trio_lab.layers import Layer, union_listdir, union_lookup
from trio_lab.model import Node, children_index
from trio_lab.store import Manifest


class Tree(ABC):
    @abstractmethod
    def lookup(self, path: str) -> Node | None: ...

    @abstractmethod
    def listdir(self, path: str) -> list[str]: ...


class FlatTree(Tree):
    """A flattened image: one dict probe per lookup."""

    def __init__(self, nodes: dict[str, Node]):
        self.nodes = nodes
        self._children = children_index(nodes)

    def lookup(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def listdir(self, path: str) -> list[str]:
        return self._children.get(path, [])


class LayeredTree(Tree):
    """A layer stack: each lookup walks the layers top→bottom (memoised per path)."""

    def __init__(self, layers: list[Layer]):
        self.layers = layers
        self._children = [layer.children() for layer in layers]
        self._memo: dict[str, tuple[int, Node] | None] = {}

    def resolve(self, path: str) -> tuple[int, Node] | None:
        if path not in self._memo:
            self._memo[path] = union_lookup(self.layers, path)
        return self._memo[path]

    def lookup(self, path: str) -> Node | None:
        found = self.resolve(path)
        return None if found is None else found[1]

    def listdir(self, path: str) -> list[str]:
        return union_listdir(self.layers, path, self._children)


@dataclass
class LoaderContext:
    manifest: Manifest
    client: BlobClient
    cache: RuntimeCache  # the runtime page cache (shared between mounts when cooperative)
    owner: str  # which container this loader serves


class Loader(ABC):
    def __init__(self, ctx: LoaderContext):
        self.ctx = ctx
        self.tree: Tree = FlatTree({})
        self._locks: dict[Any, threading.Lock] = {}
        self._guard = threading.Lock()

    def prepare(self) -> None:
        """Fetch what must be local before the container starts (default: nothing)."""

    @abstractmethod
    def read(self, path: str, node: Node, offset: int, size: int) -> bytes:
        """Bytes [offset, offset+size) of regular file `path` (short at end of file)."""

    def stats(self) -> dict[str, int]:
        return {}

    def once(self, store: dict, key: Any, fetch: Callable[[], bytes]) -> bytes:
        """`store[key]`, fetching it at most once even when FUSE threads ask concurrently."""
        value = store.get(key)
        if value is not None:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            value = store.get(key)
            if value is None:
                value = store[key] = fetch()
        return value


LOADERS: Registry[type[Loader]] = Registry("loader", package="trio_lab.loaders")
