"""`lazy-layered`: fetch only the layers' tables of contents at mount; a file's bytes on its
first read, with one HTTP Range request into the layer tar that holds it (eStargz/SOCI style).

Lookups walk the layer stack; every first read of a file costs a round trip. Files are kept
by content digest, so containers of one daemon (and identical files) share one copy.
"""

from __future__ import annotations

from trio_lab.layers import Layer
from trio_lab.loaders.base import LOADERS, LayeredTree, Loader


@LOADERS.register("lazy-layered", default=True)
class LazyLayered(Loader):
    order = 10  # display position in tables (full first, trio last)
    def prepare(self) -> None:
        refs = self.ctx.manifest.layers
        self.tree = LayeredTree([self.fetch_json(ref.toc, Layer.from_dict) for ref in refs])

    def read(self, path, node, offset, size):
        if not node.size:
            return b""

        def fetch() -> bytes:
            index, _ = self.tree.resolve(path)  # type: ignore[attr-defined, misc]
            ref = self.ctx.manifest.layers[index]
            start = self.tree.layers[index].offsets[path]  # type: ignore[attr-defined]
            return self.ctx.client.blob(ref.digest, start, node.size, expect=node.digest)

        return self.fetch("file", node.digest, fetch)[offset:offset + size]

    def stats(self):
        return {"fetched": self.fetches}
