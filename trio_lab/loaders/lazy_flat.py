"""`lazy-flat`: fetch the flattened metadata index at mount; each chunk on its first read
(Nydus without prefetch). Each missing chunk is one request and one round trip. Index and
chunks are shared by digest between the containers of one daemon.
"""

from __future__ import annotations

import time

from trio_lab.chunked import ChunkedImage, chunk_span
from trio_lab.loaders.base import LOADERS, FlatTree, Loader


def flat_index(loader: Loader) -> tuple[ChunkedImage, FlatTree]:
    """The image's flat index and its tree, fetched (and parsed) once per daemon by any loader."""
    def parse(data: dict) -> tuple[ChunkedImage, FlatTree]:
        image = ChunkedImage.from_dict(data)
        return image, FlatTree(image.nodes)

    return loader.fetch_json(loader.ctx.manifest.flat_index, parse)


@LOADERS.register("lazy-flat", default=True)
class LazyFlat(Loader):
    order = 20  # display position in tables (full first, trio last)
    def prepare(self) -> None:
        self.image, self.tree = self._flat()

    def _flat(self) -> tuple[ChunkedImage, FlatTree]:
        return flat_index(self)

    decompress_s = 0.0  # time spent decompressing chunks (on the read's critical path)

    def _chunk(self, digest: str) -> bytes:
        def get() -> bytes:
            blob, stored_size = self.image.stored_ref(digest, self._size(digest))
            data = self.ctx.client.blob(blob)
            started = time.perf_counter()
            try:
                return self.image.decode(digest, self._size(digest), data)
            finally:
                self.decompress_s += time.perf_counter() - started

        return self.fetch("chunk", digest, get)

    def _size(self, digest: str) -> int:
        if not hasattr(self, "_sizes"):
            self._sizes = {d: n for pieces in self.image.chunks.values() for d, n in pieces}
        return self._sizes[digest]

    def read(self, path, node, offset, size):
        size = max(0, min(size, node.size - offset))
        pieces = self.image.chunks.get(path, [])
        step = self.image.chunk_size
        out = bytearray()
        for i in chunk_span(offset, size, step):
            data = self._chunk(pieces[i][0])
            lo = max(offset - i * step, 0)
            hi = min(offset + size - i * step, len(data))
            out += data[lo:hi]
        return bytes(out)

    def stats(self):
        return {"fetched": self.fetches, "decompress_s": self.decompress_s}
