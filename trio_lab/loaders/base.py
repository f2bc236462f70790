"""The loader extension point, and the two metadata views loaders serve lookups from.

A loader is one class in one file of this package (or any file given with ``--plugin FILE``)::

    @LOADERS.register("my-loader", default=True)   # default: part of `compare`'s default set
    class MyLoader(Loader):
        @dataclass
        class Config:                               # optional: its options, `--set my-loader.k=v`
            k: int = option(1, "what k does")

        def read(self, path, node, offset, size): ...

Loaders are made with ``LOADERS.create(name, ctx, seed=..., options={...})``, which checks the
options against ``Config`` and passes ``seed`` and ``config`` to ``__init__``.

``prepare()`` (optional) runs once at mount, before the container starts: it is where `full`
downloads every layer and `trio` fetches its runtime blob. ``read()`` returns the bytes of a
regular file; raising :class:`trio_lab.fetch.FetchError` becomes EIO at the mount.

Everything a loader fetches by digest goes through :meth:`Loader.fetch` into the daemon's
cache (:meth:`trio_lab.cache.RuntimeCache.content`): with a cooperative daemon, containers
share metadata, chunks and files as well as runtime pages, each fetched once per digest.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

from sysai.registry import Registry
from trio_lab.cache import RuntimeCache
from trio_lab.codec import parse_json_blob
from trio_lab.fetch import BlobClient, FetchError
from trio_lab.layers import Layer, union_listdir, union_lookup
from trio_lab.model import Node, children_index, sha256
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
    Config: Any = None  # a dataclass of this loader's options, or None
    order = 50  # display position in tables (full 0 … trio 40)

    def __init__(self, ctx: LoaderContext, *, seed: int = 0, config: Any = None):
        self.ctx = ctx
        self.seed = seed
        self.config = config if config is not None or self.Config is None else self.Config()
        self.tree: Tree = FlatTree({})
        self.fetches = 0  # digests this container fetched itself (not found in the shared cache)

    def prepare(self) -> None:
        """Fetch what must be local before the container starts (default: nothing)."""

    @abstractmethod
    def read(self, path: str, node: Node, offset: int, size: int) -> bytes:
        """Bytes [offset, offset+size) of regular file `path` (short at end of file)."""

    def stats(self) -> dict[str, int]:
        return {}

    def holds(self, path: str) -> bool:
        """True when this loader has `path`'s start-up bytes at hand without a lazy fetch (trio:
        in its runtime blob); a content mount serving several images asks it (trio_lab.overlay)."""
        return False

    def fetch(self, kind: str, digest: str, get: Callable[[], bytes] | None = None,
              parse: Callable[[bytes], Any] | None = None) -> Any:
        """The content named `digest` (default: the whole verified blob of that name), from the
        cache if any container of this daemon fetched it already, else fetched once, verified."""
        def fetch() -> bytes:
            self.fetches += 1
            return get() if get is not None else self.ctx.client.blob(digest)

        return self.ctx.cache.content(self.ctx.owner, kind, digest, fetch, parse)

    def fetch_json(self, digest: str, parse: Callable[[dict], Any]) -> Any:
        """A metadata blob (index, table of contents), parsed once and shared; from the manifest
        itself when it carries the blob inline (no request), verified like any other."""
        inline = self.ctx.manifest.inline.get(digest)
        get = None if inline is None else (lambda: inline_bytes(digest, inline))
        return self.fetch("metadata", digest, get,
                          parse=lambda data: parse(parse_json_blob(data, f"metadata {digest}")))


def inline_bytes(digest: str, encoded: str) -> bytes:
    """Content a manifest carries inline (base64), checked against the digest it is named by."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise FetchError(f"the manifest's inline data for {digest} is not base64") from None
    if sha256(data) != digest:
        raise FetchError(f"the manifest's inline data for {digest} does not match that digest")
    return data


LOADERS: Registry[type[Loader]] = Registry("loader", package="trio_lab.loaders")
