"""Every loader in-process (no FUSE): same files, same attributes; trio's hits, misses and EIO."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from sysai.http import serve_in_thread
from trio_lab.blobserver import make_app
from trio_lab.cache import RuntimeCache
from trio_lab.fetch import BlobClient
from trio_lab.loaders.base import LOADERS, LoaderContext
from trio_lab.model import PAGE
from trio_lab.store import Manifest, add_runtime, build_from_dir
from trio_lab.trace import Read
from trio_lab.vfs import ImageFS

pytestmark = pytest.mark.timeout(60)
ALL = LOADERS.names()  # a dropped-in loader file is tested too
TRACE = [Read("/pkg/__init__.py", 0, 100), Read("/pkg/big.bin", 3 * PAGE + 5, 10)]


def mount_in_process(store, url, loader, cache=None, owner="c0", settle=True):
    """`loader` prepared as at mount; with `settle`, also wait for what it fetches in the
    background (trio's blob), so the counters a test reads next do not race it."""
    ctx = LoaderContext(Manifest.load(store), BlobClient(url, retries=1, backoff_s=0.01), cache or RuntimeCache(),
                        owner)
    fs = ImageFS(LOADERS.create(loader, ctx))
    fs.loader.prepare()
    background = getattr(fs.loader, "background", None)
    if settle and background is not None:
        assert background.wait(30)
    return fs


@pytest.mark.parametrize("loader", ALL)
def test_every_loader_serves_the_tree_exactly(store, registry, tree, loader):
    add_runtime(store, Manifest.load(store), TRACE)
    fs = mount_in_process(store, registry, loader)
    for path in sorted(tree.rglob("*")):
        image_path = "/" + path.relative_to(tree).as_posix()
        attrs, real = fs.getattr(image_path), os.lstat(path)
        assert stat.S_IFMT(attrs["st_mode"]) == stat.S_IFMT(real.st_mode)
        if path.is_symlink():
            assert fs.readlink(image_path) == os.readlink(path)
        elif path.is_dir():
            assert fs.readdir(image_path)[2:] == sorted(os.listdir(path))
        else:
            assert attrs["st_size"] == real.st_size and attrs["st_mode"] & 0o777 == real.st_mode & 0o777
            assert attrs["st_mtime"] == int(real.st_mtime) * 10**9
            data = b"".join(fs.read(image_path, 65536, off) for off in range(0, real.st_size, 65536))
            assert data == path.read_bytes()
    with pytest.raises(OSError) as info:
        fs.getattr("/nope")
    assert info.value.errno == errno.ENOENT


def test_trio_serves_traced_reads_from_the_cache_and_misses_from_chunks(store, registry, tree):
    add_runtime(store, Manifest.load(store), TRACE)
    client = BlobClient(registry)
    client.reset()
    fs = mount_in_process(store, registry, "trio")
    at_mount = client.stats()["requests"]
    assert at_mount == 1  # ONE runtime blob: the runtime index (with the start's metadata) came inline
    big = (tree / "pkg" / "big.bin").read_bytes()
    assert fs.read("/pkg/big.bin", 100, 3 * PAGE) == big[3 * PAGE:3 * PAGE + 100]
    assert client.stats()["requests"] == at_mount and fs.loader.stats()["hit_bytes"] == 100
    assert fs.read("/pkg/big.bin", 100, 4 * PAGE - 50) == big[4 * PAGE - 50:4 * PAGE + 50]  # half hit, half miss
    # the miss needs the chunk list: the full flat index (fetched now, once), then the chunk
    assert fs.loader.stats()["miss_bytes"] == 50 and client.stats()["requests"] == at_mount + 2


def test_cooperative_mounts_share_metadata_chunks_and_pages_by_digest(store, registry, tree):
    add_runtime(store, Manifest.load(store), TRACE)
    client = BlobClient(registry)
    client.reset()
    shared = RuntimeCache()
    fss = [mount_in_process(store, registry, "trio", shared, owner=f"c{i}") for i in range(3)]
    assert client.stats()["requests"] == 1  # the blob, once for all three (the index came inline)
    for fs in fss:  # a miss: the full index and the chunk, fetched by the first container only
        fs.read("/pkg/big.bin", 10, 2 << 20)
    assert client.stats()["requests"] == 3 and [fs.loader.stats()["fetched"] for fs in fss] == [3, 0, 0]
    private = [RuntimeCache() for _ in range(3)]
    for i, cache in enumerate(private):
        mount_in_process(store, registry, "trio", cache, owner=f"c{i}").read("/pkg/big.bin", 10, 2 << 20)
    assert client.stats()["requests"] == 3 + 3 * 3
    stats = shared.stats()
    held = (tree / "pkg" / "__init__.py").stat().st_size + PAGE
    assert stats.shared_bytes == held and stats.private_bytes == 3 * held
    assert sum(c.stats().shared_bytes for c in private) == 3 * held
    metadata, chunks = stats.content_by_kind["metadata"], stats.content_by_kind["chunk"]
    assert chunks == [1 << 20, 3 << 20] and metadata[1] == 3 * metadata[0]
    assert sum(c.stats().content_bytes for c in private) == stats.content_bytes_private
    assert stats.content_fetches == 3 and stats.content_shared_hits == 6


def test_two_images_sharing_a_file_share_its_cached_pages(tmp_path, store, registry, tree):
    from sysai.http import serve_in_thread
    from trio_lab.blobserver import make_app
    from trio_lab.store import build_from_dir

    add_runtime(store, Manifest.load(store), TRACE)
    (tree / "pkg" / "only_in_b.txt").write_text("b" * 5000)
    other = tmp_path / "other"
    build_from_dir(other, tree, "other")  # a different image (other digests) with the same files
    add_runtime(other, Manifest.load(other), TRACE + [Read("/pkg/only_in_b.txt", 0, 10)])
    assert Manifest.load(other).runtime_index != Manifest.load(store).runtime_index
    shared = RuntimeCache()
    mount_in_process(store, registry, "trio", shared, owner="a")
    alone = shared.stats().shared_bytes
    with serve_in_thread(make_app(other)) as url:
        mount_in_process(other, url, "trio", shared, owner="b")
    stats = shared.stats()
    assert stats.shared_bytes == alone + PAGE  # only the page of the new file was added
    assert stats.private_bytes == 2 * alone + PAGE


@pytest.mark.parametrize("loader", ["lazy-layered", "lazy-flat", "trio"])
def test_registry_down_mid_start_is_eio_not_a_hang(store, registry, loader):
    add_runtime(store, Manifest.load(store), TRACE)
    fs = mount_in_process(store, registry, loader)
    BlobClient(registry).faults(down=True)
    with pytest.raises(OSError) as info:
        fs.read("/pkg/sub/mod.py", 100, 0)
    assert info.value.errno == errno.EIO


def test_corrupted_chunk_is_eio(store, registry, caplog):
    fs = mount_in_process(store, registry, "lazy-flat")
    BlobClient(registry).faults(corrupt=True)
    with pytest.raises(OSError) as info:
        fs.read("/pkg/big.bin", 10, 0)
    assert info.value.errno == errno.EIO and "digest mismatch" in caplog.text


def test_trio_without_a_runtime_image_says_what_to_do(store, registry):
    from sysai.errors import UserError

    with pytest.raises(UserError, match="record a trace"):
        mount_in_process(store, registry, "trio")


def test_reads_are_traced_clamped_to_the_file_and_replayable(store, registry, tree):
    from trio_lab.trace import Tracer

    fs = mount_in_process(store, registry, "lazy-flat")
    fs.tracer = Tracer()
    size = (tree / "pkg" / "__init__.py").stat().st_size
    assert fs.replay(TRACE) == size + 10
    assert fs.tracer.reads() == [Read("/pkg/__init__.py", 0, size), TRACE[1]]


@pytest.mark.parametrize("loader", ALL)
def test_whiteouts_and_opaque_dirs_hold_through_every_loader(tmp_path, tree, loader):
    from sysai.http import serve_in_thread
    from trio_lab.layers import write_layer
    from trio_lab.blobserver import make_app
    from trio_lab.store import build_image

    upper = tmp_path / "upper"
    (upper / "sub").mkdir(parents=True)
    (upper / "sub" / "fresh.py").write_text("NEW = 1\n")
    base = write_layer(tmp_path / "base.tar", [(tree, "")])
    top = write_layer(tmp_path / "top.tar", [(upper, "pkg")], whiteouts=["/pkg/empty.txt"], opaque=["/pkg/sub"])
    store = tmp_path / "layered"
    manifest = build_image(store, [base, top], "layered")
    add_runtime(store, manifest, [Read("/pkg/sub/fresh.py", 0, 8)])
    with serve_in_thread(make_app(store)) as url:
        fs = mount_in_process(store, url, loader)
        assert "empty.txt" not in fs.readdir("/pkg") and "big.bin" in fs.readdir("/pkg")
        assert fs.readdir("/pkg/sub")[2:] == ["fresh.py"]
        assert fs.read("/pkg/sub/fresh.py", 100, 0) == b"NEW = 1\n"
        with pytest.raises(OSError):
            fs.getattr("/pkg/sub/mod.py")
    assert manifest.flat_bytes < manifest.image_bytes  # the deleted and hidden bytes are gone


def test_lazy_prefetch_fetches_the_traced_chunks_in_the_background(store, registry, tree):
    add_runtime(store, Manifest.load(store), TRACE)
    client = BlobClient(registry)
    client.reset()
    fs = mount_in_process(store, registry, "lazy-prefetch")
    assert fs.loader.done.wait(10)
    # flat index (the runtime index came inline, not the blob), then ONE merged Range GET for the
    # 2 chunks holding traced bytes (neighbours in the data blob, 2 small zstd frames)
    assert client.stats()["requests"] == 2 and fs.loader.stats()["prefetched"] == 2
    assert fs.loader.stats()["merged_requests"] == 1
    big = (tree / "pkg" / "big.bin").read_bytes()
    assert fs.read("/pkg/big.bin", 10, 3 * PAGE + 5) == big[3 * PAGE + 5:3 * PAGE + 15]
    assert client.stats()["requests"] == 2  # served from the prefetched chunk
    assert fs.read("/pkg/big.bin", 10, 4 << 20) == big[4 << 20:(4 << 20) + 10]
    assert client.stats()["requests"] == 3  # not traced: fetched on demand (with its neighbours)


def test_trio_serves_the_first_extents_while_its_blob_is_still_arriving(tmp_path):
    """The blob is in first-access order, so a start need not wait for all of it: the first
    traced file is readable when only part of the blob has crossed the (slow) link."""
    import random

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "first.py").write_text("FIRST = 1\n")
    (tree / "later.bin").write_bytes(random.Random(0).randbytes(2 << 20))  # incompressible
    store = tmp_path / "store"
    build_from_dir(store, tree, "stream")
    add_runtime(store, Manifest.load(store), [Read("/first.py", 0, 10), Read("/later.bin", 0, 2 << 20)])
    with serve_in_thread(make_app(store, bandwidth_mbps=8)) as url:  # 2 MiB ≈ 2 s on this link
        fs = mount_in_process(store, url, "trio", settle=False)
        assert fs.read("/first.py", 100, 0) == b"FIRST = 1\n"
        arrived = BlobClient(url).stats()["bytes"]
        assert fs.loader.stats()["hit_bytes"] == 10 and arrived < 1 << 20  # served from the cache, early
        assert fs.loader.stream.finished.wait(30) and not fs.loader.stream.failed
        assert fs.read("/later.bin", 1000, 5000) == (tree / "later.bin").read_bytes()[5000:6000]
        assert fs.loader.stats()["hit_bytes"] == 1010


def test_trio_answers_the_starts_lookups_from_the_runtime_index(store, registry, tree):
    """The runtime index carries the start's metadata: the traced files' directories, listed
    completely, so their lookups (and misses) need not wait for the full index."""
    add_runtime(store, Manifest.load(store), TRACE)  # reads in /pkg only
    fs = mount_in_process(store, registry, "trio")
    assert fs.getattr("/pkg/__init__.py")["st_size"] == (tree / "pkg" / "__init__.py").stat().st_size
    with pytest.raises(OSError) as info:
        fs.getattr("/pkg/__init__.cpython-312.so")  # a probe of the import system: a sure miss
    assert info.value.errno == errno.ENOENT
    assert fs.readdir("/pkg")[2:] == sorted(os.listdir(tree / "pkg"))
    assert fs.loader.stats()["full_index_lookups"] == 0
    assert fs.readdir("/pkg/sub")[2:] == sorted(os.listdir(tree / "pkg" / "sub"))  # beyond the start's dirs
    assert fs.loader.stats()["full_index_lookups"] == 1


def test_the_content_view_lists_each_content_once_and_reads_it_through_its_holder(store, registry, tree):
    """The daemon's content-addressed mount (trio_lab.overlay): one file per distinct content,
    served by the loader that holds its start-up bytes (trio's runtime blob) when there is one."""
    from trio_lab.loaders.lazy_flat import flat_index
    from trio_lab.overlay import ContentFS, content_name

    add_runtime(store, Manifest.load(store), TRACE)
    lazy = mount_in_process(store, registry, "lazy-flat", owner="a")
    trio = mount_in_process(store, registry, "trio", cache=lazy.loader.ctx.cache, owner="b")
    view = ContentFS([(fs, flat_index(fs.loader)[0].nodes) for fs in (lazy, trio)])
    name = content_name(trio.node("/pkg/big.bin").digest)
    assert view.files[name][0] is trio and view.files[content_name(trio.node("/pkg/run.sh").digest)][0] is lazy
    big = (tree / "pkg" / "big.bin").read_bytes()
    assert view.read("/" + name, 10, 3 * PAGE + 5) == big[3 * PAGE + 5:3 * PAGE + 15]
    assert trio.loader.stats()["hit_bytes"] == 10 and view.getattr("/" + name)["st_size"] == len(big)
    contents = {p.read_bytes() for p in tree.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size}
    assert len(view.readdir("/")[2:]) == len(contents)
    with pytest.raises(OSError) as info:
        view.getattr("/" + "0" * 64)
    assert info.value.errno == errno.ENOENT


def test_trio_starts_its_blob_get_beside_the_index_get(store, registry, tree):
    """The manifest names the runtime blob, so its one GET need not queue behind the index's
    (an index too big to travel inline): this registry holds the index back until the blob has
    been asked for."""
    import asyncio

    from aiohttp import web

    add_runtime(store, Manifest.load(store), TRACE)
    manifest = Manifest.load(store)
    manifest.inline = {}
    manifest.save(store)
    assert manifest.runtime_blob
    asked, order = asyncio.Event(), []

    @web.middleware
    async def hold_the_index(request, handler):
        digest = request.path.rsplit("/", 1)[-1]
        if digest == manifest.runtime_blob:
            order.append("blob asked")
            asked.set()
        elif digest == manifest.runtime_index:
            try:
                await asyncio.wait_for(asked.wait(), 5)  # a loader that waits for the index: 5 s, then on
            except asyncio.TimeoutError:
                pass
            order.append("index answered")
        return await handler(request)

    app = make_app(store)
    app.middlewares.append(hold_the_index)
    with serve_in_thread(app) as url:
        fs = mount_in_process(store, url, "trio")
        assert order == ["blob asked", "index answered"]
        first = (tree / "pkg" / "__init__.py").read_bytes()
        assert fs.read("/pkg/__init__.py", 100, 0) == first[:100]
        assert fs.loader.stats()["hit_bytes"] == min(100, len(first))


def test_the_manifest_carries_the_runtime_index_and_a_bad_copy_is_refused(store, registry):
    """OCI 1.1 descriptors may carry small content inline (`data`): the runtime index comes with
    the manifest, checked against its digest like any fetched blob."""
    import base64

    from trio_lab.fetch import FetchError

    add_runtime(store, Manifest.load(store), TRACE)
    manifest = Manifest.load(store)
    assert base64.b64decode(manifest.inline[manifest.runtime_index]) == (store / "blobs" / "sha256" /
                                                                         manifest.runtime_index[7:]).read_bytes()
    data = bytearray(base64.b64decode(manifest.inline[manifest.runtime_index]))
    data[10] ^= 0xFF
    manifest.inline[manifest.runtime_index] = base64.b64encode(bytes(data)).decode()
    manifest.save(store)
    with pytest.raises(FetchError, match="inline data .* does not match"):
        mount_in_process(store, registry, "trio")


def test_blob_bytes_that_come_before_the_index_are_used_once_it_is_in(tmp_path):
    """The stream may run ahead of the index: what came is buffered, then cut into extents."""
    from trio_lab.loaders.trio import BlobStream
    from trio_lab.runtime import make_runtime

    files = {"/a": b"a" * 5000, "/b": b"b" * 3000}
    runtime, blob = make_runtime([Read("/a", 0, 5000), Read("/b", 0, 3000)], {p: len(d) for p, d in files.items()},
                                 {p: f"sha256:{p[1]}" for p in files}, lambda p, o, n: files[p][o:o + n], compress=True)
    early = BlobStream(runtime.blob_digest, RuntimeCache())
    early.join("c0")
    early.feed(blob[:len(blob) // 2])
    early.attach(runtime)
    early.feed(blob[len(blob) // 2:])
    assert all(event.is_set() for event in early.ready) and early.cache.stats().pages == 3
    finished = BlobStream(runtime.blob_digest, RuntimeCache())  # the whole blob before the index
    finished.join("c0")
    finished.feed(blob)
    finished.finished.set()
    finished.attach(runtime)
    assert all(event.is_set() for event in finished.ready) and finished.cache.stats().pages == 3
    with pytest.raises(Exception, match="names blob"):
        BlobStream("sha256:" + "0" * 64, RuntimeCache()).attach(runtime)
