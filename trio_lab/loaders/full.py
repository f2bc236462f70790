"""`full`: pull every layer before the container starts, then serve the union from memory.

This is plain ``docker pull`` + overlay: the start waits for the whole image (Slacker: pulling
is 76 % of start time) although it reads only a few percent of it.
"""

from __future__ import annotations

import time

from trio_lab.codec import gunzip
from trio_lab.layers import flatten, read_layer
from trio_lab.loaders.base import LOADERS, FlatTree, Loader


@LOADERS.register("full", default=True)
class Full(Loader):
    order = 0  # display position in tables (full first, trio last)
    decompress_s = 0.0  # gunzip time: on the critical path, like `docker pull` extracting layers

    def _unpack(self, blob: bytes, ref) -> tuple[bytes, object]:
        if ref.media == "tar+gzip":
            started = time.perf_counter()
            blob = gunzip(blob, f"layer {ref.digest}")
            self.decompress_s += time.perf_counter() - started
        return blob, read_layer(blob, where=ref.digest)

    def prepare(self) -> None:
        pulled = [self.fetch("layer", ref.digest, parse=lambda blob, ref=ref: self._unpack(blob, ref))
                  for ref in self.ctx.manifest.layers]  # a layer pulled once per host, as docker does
        self.tars = [tar for tar, _ in pulled]
        self.layers = [layer for _, layer in pulled]
        self.merged = flatten(self.layers)
        self.tree = FlatTree({p: n for p, (_, n) in self.merged.items()})

    def read(self, path, node, offset, size):
        index, _ = self.merged[path]
        start = self.layers[index].offsets[path] + offset
        return self.tars[index][start:start + max(0, min(size, node.size - offset))]

    def stats(self):
        return {"decompress_s": self.decompress_s}
