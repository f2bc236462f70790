"""The flattened lazy image (Nydus-like): one metadata index + content-addressed chunks.

Flattening resolves the layer union once at build time, so a lookup is one dict probe instead
of a walk over layers, and deleted files no longer cost bytes. File contents are cut into
fixed-size chunks named by their sha256: identical chunks (within or across images) are stored
and fetched once, and every fetched chunk is verified against its name before it is served.

As in Nydus, the unique chunks are also laid out back to back in one *data blob* (files in path
order, so a directory's small files sit next to each other); the index records each chunk's
offset there, which is what lets a loader merge the reads of adjacent chunks into one Range
GET (:mod:`trio_lab.loaders.lazy_prefetch`). Each chunk is still a blob of its own too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from trio_lab.codec import zstd_compress, zstd_decompress
from trio_lab.fetch import FetchError
from trio_lab.model import FILE, Node, sha256

log = logging.getLogger("trio_lab.chunked")

CHUNK_SIZE = 1 << 20  # Nydus's default chunk size


@dataclass
class ChunkedImage:
    chunk_size: int
    nodes: dict[str, Node]
    chunks: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # path → [(digest, size)]
    blob: str = ""  # digest of the data blob holding every unique chunk back to back
    offsets: dict[str, int] = field(default_factory=dict)  # chunk digest → its offset in the data blob
    codec: str = "none"  # "zstd": each chunk is stored as one zstd frame (Nydus's default)
    stored: dict[str, tuple[str, int]] = field(default_factory=dict)  # chunk digest → (stored blob digest, size)

    def stored_ref(self, digest: str, size: int) -> tuple[str, int]:
        """The blob that holds chunk `digest` as stored (compressed or not) and its stored size."""
        return self.stored.get(digest, (digest, size))

    def decode(self, digest: str, size: int, stored: bytes) -> bytes:
        """Stored bytes → the chunk, verified against its digest (FetchError otherwise)."""
        data = zstd_decompress(stored, size, f"chunk {digest}") if self.codec == "zstd" else stored
        if sha256(data) != digest:
            log.error("digest mismatch for chunk %s after %s decoding", digest, self.codec)
            raise FetchError(f"chunk {digest}: digest mismatch")
        return data

    def to_dict(self) -> dict:
        return {
            "chunk_size": self.chunk_size,
            "blob": self.blob,
            "offsets": self.offsets,
            "codec": self.codec,
            "stored": {d: list(v) for d, v in self.stored.items()},
            "entries": {p: {**n.to_dict(), **({"chunks": self.chunks[p]} if p in self.chunks else {})}
                        for p, n in sorted(self.nodes.items())},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkedImage":
        image = cls(data["chunk_size"], {}, blob=data.get("blob", ""), offsets=dict(data.get("offsets", {})),
                    codec=data.get("codec", "none"), stored={d: (c, int(n)) for d, (c, n) in data.get("stored",
                                                                                                      {}).items()})
        for path, entry in data["entries"].items():
            image.nodes[path] = Node.from_dict(entry)
            if "chunks" in entry:
                image.chunks[path] = [(d, int(s)) for d, s in entry["chunks"]]
        return image


def build_chunked(nodes: dict[str, Node], read_file: Callable[[str], bytes], chunk_size: int = CHUNK_SIZE,
                  compress: bool = False) -> tuple[ChunkedImage, dict[str, bytes]]:
    """Cut every regular file into chunks; returns the index and the unique chunks (as stored,
    zstd frames with `compress`) by chunk digest."""
    image = ChunkedImage(chunk_size, dict(nodes), codec="zstd" if compress else "none")
    store: dict[str, bytes] = {}
    for path, node in sorted(nodes.items()):
        if node.kind != FILE:
            continue
        data = read_file(path)
        pieces = []
        for start in range(0, len(data), chunk_size):
            piece = data[start:start + chunk_size]
            digest = sha256(piece)
            store.setdefault(digest, piece)
            pieces.append((digest, len(piece)))
        image.chunks[path] = pieces
    if compress:
        store = {d: zstd_compress(piece) for d, piece in store.items()}
        image.stored = {d: (sha256(piece), len(piece)) for d, piece in store.items()}
    cursor = 0
    for digest, piece in store.items():  # first-seen order: path order, then offset in the file
        image.offsets[digest] = cursor
        cursor += len(piece)
    return image, store


def data_blob(image: ChunkedImage, store: dict[str, bytes]) -> bytes:
    """The unique chunks back to back, at the offsets the index records."""
    return b"".join(store[d] for d in sorted(image.offsets, key=image.offsets.__getitem__))


def chunk_span(offset: int, size: int, chunk_size: int) -> range:
    """Indices of the chunks that bytes [offset, offset+size) touch."""
    if size <= 0:
        return range(0)
    return range(offset // chunk_size, (offset + size - 1) // chunk_size + 1)
