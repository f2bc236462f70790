"""The TrIO runtime image: a startup trace packed into one page-aligned blob + an extent index.

This is FlacIO's "flattened" half (openEuler ``tools/trio/scripts/trace_parser.py``): the traced
byte ranges, scattered over many small files and layers, are merged per file, widened to whole
pages, and laid out back to back in ONE data blob in first-access order. The extent index maps
``(path, file offset)`` to the blob offset. At start the blob is fetched with a single request
and its pages go straight into the runtime page cache (:mod:`trio_lab.cache`); reads the trace
did not cover fall back to the lazy loader.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable

from trio_lab.codec import zstd_compress, zstd_decompress
from trio_lab.model import PAGE, Node, ancestors, children_index, sha256
from trio_lab.trace import Read


@dataclass(frozen=True)
class Extent:
    """Bytes [file_offset, file_offset+length) of `path` sit at `blob_offset` in the blob."""

    path: str
    file_offset: int
    length: int
    blob_offset: int


def arrange(reads: list[Read], sizes: dict[str, int], page: int = PAGE) -> list[Extent]:
    """Lay the traced ranges out in one blob.

    Per file: widen each read to whole pages (clamped to the file size), merge overlapping or
    touching ranges. Files come in the order of their first read, ranges within a file by
    offset. Every extent starts at a page-aligned blob offset (the tail of the last page of an
    extent is padding). Reads of paths not in `sizes` (not regular files) are ignored.
    """
    # BEGIN SOLUTION task1_3
    order: list[str] = []
    ranges: dict[str, list[tuple[int, int]]] = {}
    for read in reads:
        size = sizes.get(read.path)
        if size is None or read.offset >= size:
            continue
        start = read.offset // page * page
        end = min(-(-(read.offset + read.length) // page) * page, size)
        if read.path not in ranges:
            order.append(read.path)
            ranges[read.path] = []
        ranges[read.path].append((start, end))
    extents = []
    cursor = 0
    for path in order:
        merged: list[list[int]] = []
        for start, end in sorted(ranges[path]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            extents.append(Extent(path, start, end - start, cursor))
            cursor += -(-(end - start) // page) * page
    return extents
    # END SOLUTION


class ExtentIndex:
    """Per-file sorted extents, answering "which parts of this read are in the blob?"."""

    def __init__(self, extents: list[Extent]):
        self.extents = list(extents)
        self._by_path: dict[str, list[Extent]] = {}
        for extent in sorted(self.extents, key=lambda e: (e.path, e.file_offset)):
            self._by_path.setdefault(extent.path, []).append(extent)
        self._starts = {p: [e.file_offset for e in es] for p, es in self._by_path.items()}

    def lookup(self, path: str, offset: int, length: int) -> list[tuple[int, int, int | None]]:
        """Cover [offset, offset+length) of `path` with consecutive segments, in file order:
        ``(file_offset, length, blob_offset)`` for bytes in the blob, ``(file_offset, length,
        None)`` for holes. Uses binary search over the file's extents (no scan of the index).
        """
        # BEGIN SOLUTION task1_2
        segments: list[tuple[int, int, int | None]] = []
        extents = self._by_path.get(path, [])
        starts = self._starts.get(path, [])
        pos, end = offset, offset + length
        i = max(bisect.bisect_right(starts, pos) - 1, 0)
        while pos < end:
            extent = extents[i] if i < len(extents) else None
            if extent is None or extent.file_offset >= end:
                segments.append((pos, end - pos, None))
                break
            extent_end = extent.file_offset + extent.length
            if extent_end <= pos:
                i += 1
                continue
            if extent.file_offset > pos:
                segments.append((pos, extent.file_offset - pos, None))
                pos = extent.file_offset
            take = min(end, extent_end) - pos
            segments.append((pos, take, extent.blob_offset + pos - extent.file_offset))
            pos += take
            i += 1
        return segments
        # END SOLUTION

    def paths(self) -> list[str]:
        return sorted(self._by_path)

    def covered_bytes(self) -> int:
        return sum(e.length for e in self.extents)


def blob_size(extents: list[Extent], page: int = PAGE) -> int:
    if not extents:
        return 0
    last = max(extents, key=lambda e: e.blob_offset)
    return last.blob_offset + -(-last.length // page) * page


def build_blob(extents: list[Extent], read_range: Callable[[str, int, int], bytes], page: int = PAGE) -> bytes:
    """Copy every extent's bytes to its blob offset; padding is zeros."""
    blob = bytearray(blob_size(extents, page))
    for extent in extents:
        data = read_range(extent.path, extent.file_offset, extent.length)
        blob[extent.blob_offset:extent.blob_offset + len(data)] = data
    return bytes(blob)


@dataclass
class RuntimeImage:
    """What the registry serves for TrIO: the blob's digest/size, the extents, file digests."""

    blob_digest: str
    blob_size: int
    extents: list[Extent]
    file_digests: dict[str, str]  # path → content digest: the cooperative cache's dedup key
    codec: str = "none"  # "zstd": the blob is one zstd frame per extent, back to back
    frames: list[tuple[int, int]] = field(default_factory=list)  # per extent: (offset, size) in the blob
    extent_digests: list[str] = field(default_factory=list)  # per extent: sha256 of its plain bytes
    nodes: dict[str, Node] = field(default_factory=dict)  # the start's metadata (see startup_metadata)
    complete_dirs: list[str] = field(default_factory=list)  # directories whose every entry is in `nodes`

    def stored_spans(self) -> list[tuple[int, int]]:
        """Per extent, in blob order: (offset, size) of its bytes as they travel in the blob."""
        if self.codec == "zstd":
            return list(self.frames)
        return [(e.blob_offset, e.length) for e in self.extents]

    def decode_extent(self, i: int, stored: bytes) -> bytes:
        """Extent `i`'s plain bytes from its stored bytes, checked against its digest: a flipped
        byte is an error here, before any page of it reaches the cache."""
        extent = self.extents[i]
        where = f"runtime extent {extent.path}@{extent.file_offset}"
        data = zstd_decompress(stored, extent.length, where) if self.codec == "zstd" else bytes(stored)
        if self.extent_digests and sha256(data) != self.extent_digests[i]:
            raise ValueError(f"{where}: digest mismatch")
        return data

    def to_dict(self) -> dict:
        return {
            "blob": self.blob_digest,
            "blob_size": self.blob_size,
            "page": PAGE,
            "extents": [[e.path, e.file_offset, e.length, e.blob_offset] for e in self.extents],
            "file_digests": self.file_digests,
            "codec": self.codec,
            "frames": [list(f) for f in self.frames],
            "extent_digests": self.extent_digests,
            "nodes": {p: n.to_dict() for p, n in sorted(self.nodes.items())},
            "complete_dirs": self.complete_dirs,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "RuntimeImage":
        extents = [Extent(p, int(f), int(n), int(b)) for p, f, n, b in data["extents"]]
        return cls(data["blob"], int(data["blob_size"]), extents, dict(data["file_digests"]),
                   data.get("codec", "none"), [(int(o), int(n)) for o, n in data.get("frames", [])],
                   [str(d) for d in data.get("extent_digests", [])],
                   {p: Node.from_dict(n) for p, n in data.get("nodes", {}).items()},
                   [str(d) for d in data.get("complete_dirs", [])])


def startup_metadata(nodes: dict[str, Node], paths: list[str]) -> tuple[dict[str, Node], list[str]]:
    """The metadata a start needs, small enough to travel with the runtime index: every
    directory on the way to a traced file, listed completely (so a lookup there that finds
    nothing is a sure ENOENT, as the many probes of Python's import system are), with the
    nodes of all their entries. Anything else waits for the full index, fetched later."""
    children = children_index(nodes)
    dirs = sorted({d for path in paths for d in ancestors(path)} | {"/"})
    subset = {d: nodes[d] for d in dirs if d in nodes}
    for d in dirs:
        for name in children.get(d, []):
            child = d.rstrip("/") + "/" + name
            subset[child] = nodes[child]
    return subset, dirs


def make_runtime(reads: list[Read], sizes: dict[str, int], digests: dict[str, str],
                 read_range: Callable[[str, int, int], bytes], compress: bool = False,
                 nodes: dict[str, Node] | None = None) -> tuple[RuntimeImage, bytes]:
    """The runtime image of a trace; with `compress`, each extent is one zstd frame (the daemon
    decompresses them into the page cache as they arrive), else the page-aligned blob. With
    the image's `nodes`, the index also carries the start's metadata (:func:`startup_metadata`)."""
    extents = arrange(reads, sizes)
    subset, complete = startup_metadata(nodes, [e.path for e in extents]) if nodes is not None else ({}, [])
    used = {e.path for e in extents}
    file_digests = {p: digests[p] for p in sorted(used)}
    plain = [read_range(e.path, e.file_offset, e.length) for e in extents]
    extent_digests = [sha256(data) for data in plain]  # lets the daemon use each extent as it arrives
    if not compress:
        read = {(e.path, e.file_offset): data for e, data in zip(extents, plain)}  # each extent read once
        blob = build_blob(extents, lambda path, offset, length: read[(path, offset)])
        return RuntimeImage(sha256(blob), len(blob), extents, file_digests, extent_digests=extent_digests,
                            nodes=subset, complete_dirs=complete), blob
    frames, out = [], bytearray()
    for data in plain:
        frame = zstd_compress(data)
        frames.append((len(out), len(frame)))
        out += frame
    blob = bytes(out)
    return RuntimeImage(sha256(blob), len(blob), extents, file_digests, "zstd", frames, extent_digests,
                        subset, complete), blob
