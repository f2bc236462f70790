"""`lazy-flat`: fetch the flattened metadata index at mount; each chunk on its first read
(Nydus without prefetch). Each missing chunk is one request and one round trip.
"""

from __future__ import annotations

from trio_lab.chunked import ChunkedImage, chunk_span
from trio_lab.loaders.base import LOADERS, FlatTree, Loader


@LOADERS.register("lazy-flat")
class LazyFlat(Loader):
    def prepare(self) -> None:
        self.image = ChunkedImage.from_dict(self.ctx.client.blob_json(self.ctx.manifest.flat_index))
        self.tree = FlatTree(self.image.nodes)
        self.chunks: dict[str, bytes] = {}
        self.fetched = 0

    def _chunk(self, digest: str) -> bytes:
        def fetch() -> bytes:
            self.fetched += 1
            return self.ctx.client.blob(digest)

        return self.once(self.chunks, digest, fetch)

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
        return {"chunks_fetched": self.fetched}
