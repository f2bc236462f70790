"""Compressed formats (issue 15 §2): gzip layers, zstd chunks, zstd-framed TrIO blob — and a
flipped byte in each is EIO on that read and a logged line, never wrong bytes."""

from __future__ import annotations

import errno
import gzip
import logging

import pytest

from trio_lab.chunked import ChunkedImage
from trio_lab.codec import gzip_by_member
from trio_lab.layers import Layer
from trio_lab.model import PAGE
from trio_lab.store import BlobStore, Manifest, add_runtime
from trio_lab.trace import Read

from trio_lab.cache import RuntimeCache
from trio_lab.fetch import BlobClient
from trio_lab.loaders.base import LOADERS, LoaderContext
from trio_lab.vfs import ImageFS

from .test_loaders import mount_in_process

TRACE = [Read("/pkg/sub/mod.py", 0, 11), Read("/pkg/big.bin", 0, PAGE)]


def test_a_seekable_gzip_layer_is_one_valid_gzip_stream_and_each_file_gunzips_alone(store, tree):
    manifest = Manifest.load(store)
    blobs = BlobStore(store)
    ref = manifest.layers[0]
    assert ref.media == "tar+gzip" and gzip.decompress(blobs.get(ref.digest)) == blobs.get(ref.diff_id)
    layer = Layer.from_dict(blobs.get_json(ref.toc))
    coffset, clength, tar_offset = layer.members["/pkg/sub/mod.py"]
    member = gzip.decompress(blobs.get(ref.digest)[coffset:coffset + clength])
    start = layer.offsets["/pkg/sub/mod.py"] - tar_offset
    assert member[start:start + 11] == (tree / "pkg" / "sub" / "mod.py").read_bytes()
    assert manifest.image_bytes < sum(len(blobs.get(r.diff_id)) for r in manifest.layers) / 5  # big.bin compresses
    assert gzip_by_member(b"\0" * 1024)[0]  # an empty tar is still one member


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _targets(store):
    """Where each format keeps /pkg/sub/mod.py's bytes: (blob file, offset of a byte inside)."""
    manifest, blobs = Manifest.load(store), BlobStore(store)
    layer = Layer.from_dict(blobs.get_json(manifest.layers[0].toc))
    coffset, clength, _ = layer.members["/pkg/sub/mod.py"]
    flat = ChunkedImage.from_dict(blobs.get_json(manifest.flat_index))
    digest, size = flat.chunks["/pkg/sub/mod.py"][0]
    stored, stored_size = flat.stored_ref(digest, size)
    return {
        "full": [(blobs.path(manifest.layers[0].digest), coffset + clength // 2)],
        "lazy-layered": [(blobs.path(manifest.layers[0].digest), coffset + clength // 2)],
        "lazy-flat": [(blobs.path(stored), stored_size // 2)],
        "lazy-prefetch": [(blobs.path(flat.blob), flat.offsets[digest] + stored_size // 2),
                          (blobs.path(stored), stored_size // 2)],  # the merged range and the fallback
    }


@pytest.mark.parametrize("loader", ["full", "lazy-layered", "lazy-flat", "lazy-prefetch"])
def test_a_flipped_byte_in_a_compressed_format_is_eio_and_a_log_line(store, registry, loader, caplog):
    add_runtime(store, Manifest.load(store), TRACE)
    targets = _targets(store)
    caplog.set_level(logging.WARNING)
    if loader == "full":  # the pull itself is verified: the mount never comes up with bad bytes
        for path, at in targets[loader]:
            _flip(path, at)
        with pytest.raises(OSError, match="digest mismatch"):
            mount_in_process(store, registry, loader)
        assert "digest mismatch" in caplog.text
        return
    fs = mount_in_process(store, registry, loader)
    if loader == "lazy-prefetch":  # no prefetch: the read itself takes the merged range, then the fallback
        assert fs.loader.done.wait(10)
        ctx = LoaderContext(Manifest.load(store), BlobClient(registry, retries=1, backoff_s=0.01), RuntimeCache(), "c0")
        fs = ImageFS(LOADERS.create(loader, ctx, options={"prefetch": False}))
        fs.loader.prepare()
    for path, at in targets[loader]:
        _flip(path, at)
    fs.loader.ctx.cache.contents.clear()
    with pytest.raises(OSError) as info:
        fs.read("/pkg/sub/mod.py", 100, 0)
    assert info.value.errno == errno.EIO
    assert "EIO on /pkg/sub/mod.py" in caplog.text


def test_a_flipped_byte_in_the_trio_blob_costs_speed_never_correctness(store, registry, tree, caplog):
    runtime = add_runtime(store, Manifest.load(store), TRACE)
    assert runtime.codec == "zstd" and len(runtime.frames) == 2
    _flip(BlobStore(store).path(runtime.blob_digest), runtime.frames[0][0] + runtime.frames[0][1] // 2)
    fs = mount_in_process(store, registry, "trio")
    assert fs.read("/pkg/sub/mod.py", 100, 0) == (tree / "pkg" / "sub" / "mod.py").read_bytes()  # the bad extent
    assert fs.loader.stream.finished.wait(30) and fs.loader.stream.bad_extents == 1
    assert fs.loader.stats()["hit_bytes"] == 0 and "runtime blob" in caplog.text and "unusable" in caplog.text
    big = (tree / "pkg" / "big.bin").read_bytes()  # the next extent is still used
    assert fs.read("/pkg/big.bin", 10, 5) == big[5:15]
    assert fs.loader.stats()["hit_bytes"] == 10


def test_metadata_travels_as_one_zstd_frame_and_a_flipped_byte_in_it_is_an_error(store, registry, tree, tmp_path):
    """The indexes are on the start's critical path, so a compressed image ships them zstd-framed;
    `--uncompressed` keeps plain JSON; a bad byte in one never parses into a tree."""
    from trio_lab.codec import ZSTD_MAGIC, parse_json_blob
    from trio_lab.fetch import FetchError
    from trio_lab.store import build_from_dir

    add_runtime(store, Manifest.load(store), TRACE)
    manifest, blobs = Manifest.load(store), BlobStore(store)
    for digest in (manifest.flat_index, manifest.runtime_index, manifest.layers[0].toc):
        assert blobs.get(digest)[:4] == ZSTD_MAGIC
    plain = build_from_dir(tmp_path / "plain", tree, "plain", compress=False)
    assert BlobStore(tmp_path / "plain").get(plain.flat_index)[:1] == b"{"
    frame = bytearray(blobs.get(manifest.runtime_index))
    frame[len(frame) // 2] ^= 0xFF
    with pytest.raises(FetchError, match="metadata"):
        parse_json_blob(bytes(frame))
    _flip(blobs.path(manifest.flat_index), 20)
    with pytest.raises(OSError, match="digest mismatch"):
        mount_in_process(store, registry, "lazy-flat")
