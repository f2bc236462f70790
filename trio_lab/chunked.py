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

from dataclasses import dataclass, field
from typing import Callable

from trio_lab.model import FILE, Node, sha256

CHUNK_SIZE = 1 << 20  # Nydus's default chunk size


@dataclass
class ChunkedImage:
    chunk_size: int
    nodes: dict[str, Node]
    chunks: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # path → [(digest, size)]
    blob: str = ""  # digest of the data blob holding every unique chunk back to back
    offsets: dict[str, int] = field(default_factory=dict)  # chunk digest → its offset in the data blob

    def to_dict(self) -> dict:
        return {
            "chunk_size": self.chunk_size,
            "blob": self.blob,
            "offsets": self.offsets,
            "entries": {p: {**n.to_dict(), **({"chunks": self.chunks[p]} if p in self.chunks else {})}
                        for p, n in sorted(self.nodes.items())},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkedImage":
        image = cls(data["chunk_size"], {}, blob=data.get("blob", ""), offsets=dict(data.get("offsets", {})))
        for path, entry in data["entries"].items():
            image.nodes[path] = Node.from_dict(entry)
            if "chunks" in entry:
                image.chunks[path] = [(d, int(s)) for d, s in entry["chunks"]]
        return image


def build_chunked(nodes: dict[str, Node], read_file: Callable[[str], bytes],
                  chunk_size: int = CHUNK_SIZE) -> tuple[ChunkedImage, dict[str, bytes]]:
    """Cut every regular file into chunks; returns the index and the unique chunks by digest."""
    image = ChunkedImage(chunk_size, dict(nodes))
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
