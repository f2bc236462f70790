"""Compression as the real formats ship it: gzip layers (seekable, eStargz-style) and zstd frames.

- **Layers** are OCI ``tar+gzip`` blobs. A plain gzip stream can only be read from its start,
  so a lazy loader could not reach one file; eStargz (and SOCI's zTOC) fix that by compressing
  each tar member as its own gzip *member*. The concatenation is still one valid gzip stream
  (``full`` pulls and gunzips it whole), and the table of contents records where each file's
  member starts in the compressed blob, so ``lazy-layered`` fetches and gunzips just that.
- **Chunks** (the flat format) are zstd frames, as Nydus compresses its chunks by default.
- **The TrIO blob** is one zstd frame per extent, decompressed by the daemon at mount.
- **Metadata** (layer tables of contents, the flat index, the runtime index) is one zstd frame
  of JSON, as eStargz gzips its TOC and Nydus ships a compact bootstrap: the start waits for
  the runtime index, so its bytes are on the critical path.

Every decompression error is a :class:`trio_lab.fetch.FetchError` (EIO at the mount), and what
comes out is checked against a content digest before anyone sees it: never wrong bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from typing import Any

import zstandard

from trio_lab.fetch import FetchError

ZSTD_LEVEL = 3  # zstd's default: the speed/ratio point Nydus ships


def zstd_compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(data)


def zstd_decompress(data: bytes, size: int, what: str = "zstd frame") -> bytes:
    try:
        out = zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise FetchError(f"{what}: bad zstd frame ({exc})") from None
    if len(out) != size:
        raise FetchError(f"{what}: zstd frame gave {len(out)} bytes, expected {size}")
    return out


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a JSON document never starts with these bytes


def json_blob(obj: object, compress: bool) -> bytes:
    """Canonical JSON (sorted keys, so equal metadata has one digest), zstd-framed if `compress`."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    if not compress:
        return data
    # with the frame's own checksum: a parser must not read a damaged index as a smaller one
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).compress(data)


def parse_json_blob(data: bytes, what: str = "metadata") -> Any:
    """A metadata blob → its value, whether stored plain or as one zstd frame."""
    if data[:4] == ZSTD_MAGIC:
        try:
            data = zstandard.ZstdDecompressor().decompress(data)
        except zstandard.ZstdError as exc:
            raise FetchError(f"{what}: bad zstd frame ({exc})") from None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise FetchError(f"{what}: not valid JSON ({exc})") from None


def gunzip(data: bytes, what: str = "gzip member") -> bytes:
    """A gzip stream of one or many members → its bytes. (``gzip.decompress`` copies the rest of
    the input after every member, quadratic in a seekable layer's thousands of members.)"""
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise FetchError(f"{what}: bad gzip data ({exc})") from None


def gzip_by_member(tar: bytes, level: int = 6) -> tuple[bytes, dict[int, tuple[int, int, int]]]:
    """Compress an uncompressed tar one member per gzip member (seekable, like eStargz).

    Returns the blob and ``{tar offset of a member's header: (compressed offset, compressed
    length, tar offset)}``; the last piece also carries the end-of-archive blocks.
    """
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        starts = [m.offset for m in archive.getmembers()]
    bounds = starts + [len(tar)]
    out = bytearray()
    where = {}
    for lo, hi in zip(bounds, bounds[1:]):
        piece = gzip.compress(tar[lo:hi], compresslevel=level, mtime=0)
        where[lo] = (len(out), len(piece), lo)
        out += piece
    if not starts:  # an empty tar: still one valid member
        out += gzip.compress(tar, compresslevel=level, mtime=0)
    return bytes(out), where
