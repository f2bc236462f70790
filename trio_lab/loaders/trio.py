"""`trio`: ONE request for the runtime blob, streamed into the runtime page cache; reads the
startup trace covered are served from memory, the rest fall back to `lazy-flat`.

The blob is laid out in first-access order (:func:`trio_lab.runtime.arrange`), so the container
starts as soon as the index is in and the blob is still on the wire: each extent is verified
and its pages cached the moment its last byte arrives, and a read of an extent still in flight
waits for it. Start-up then overlaps the one transfer instead of queueing behind it.

The page cache is keyed by file content, so several containers (mounts) of one daemon share
it: the cooperative part of FlacIO. With a shared cache the blob is fetched by the first
container only; the others join its stream.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from typing import Callable

from sysai.errors import UserError
from trio_lab.cache import RuntimeCache
from trio_lab.chunked import ChunkedImage
from trio_lab.fetch import BlobClient
from trio_lab.loaders.base import LOADERS, Tree
from trio_lab.loaders.lazy_flat import LazyFlat
from trio_lab.model import PAGE, Node, children_index, parent
from trio_lab.runtime import ExtentIndex, RuntimeImage

log = logging.getLogger("trio_lab.trio")


class BlobStream:
    """The runtime blob arriving: extents become usable one by one, in blob order.

    `feed` takes the body as it comes off the socket; every extent whose stored bytes are all
    in is decoded, checked against its digest and cut into pages for the cache, then marked
    ready. If the stream fails (or an extent is corrupt) every waiter is released and the
    extents not cached are served by the lazy fallback; a corrupt extent is skipped the same
    way while the rest of the blob is still used: a bad blob costs speed, never bytes.
    """

    def __init__(self, blob_digest: str, cache: RuntimeCache):
        self.blob_digest, self.cache = blob_digest, cache
        self.runtime: RuntimeImage | None = None  # until attach(): the bytes that came wait in the buffer
        self.spans: list[tuple[int, int]] = []
        self.ready: list[threading.Event] = []
        self.starts: list[int] = []
        self.finished = threading.Event()  # the whole blob is in, or the stream gave up
        self.owners: list[str] = []
        self.decode_s = 0.0
        self.bad_extents = 0
        self.failed: str | None = None
        self._lock = threading.Lock()  # the cache's view: pages cached vs containers joined
        self._feeding = threading.Lock()  # one thread at a time cuts the buffer into extents
        self._buffer, self._base, self._next = bytearray(), 0, 0

    def attach(self, runtime: RuntimeImage) -> None:
        """The runtime index is in: the extents it lists are cut from what has come so far, and
        from the rest as it comes. The manifest names the blob, so its GET starts beside the
        index's and the first extents are often in before the index is."""
        if runtime.blob_digest != self.blob_digest:
            raise UserError(f"the runtime index names blob {runtime.blob_digest}, the manifest {self.blob_digest}")
        with self._feeding:
            if self.runtime is not None:  # another container of this image attached it
                return
            self.spans = runtime.stored_spans()
            self.ready = [threading.Event() for _ in self.spans]
            self.starts = [e.blob_offset for e in runtime.extents]  # blob order: arrange() lays them out so
            self.runtime = runtime
            self._cut()
            if self.finished.is_set():  # it ended (or failed) before the index came: nothing more will
                self._release()

    def join(self, owner: str) -> None:
        """`owner` uses this blob's pages: it owns those cached already and every later one."""
        with self._lock:
            self.owners.append(owner)
            self.cache.adopt(owner, [k for i in range(self._next) for k in self._keys(i)])

    def run(self, client: BlobClient) -> None:
        try:
            client.stream(self.blob_digest, self.feed)
        except Exception as exc:  # also a task stub: one log line, never a traceback from this thread
            self.failed = str(exc)
            log.error("runtime blob %s unusable (%s): serving the rest of this start from chunks",
                      self.blob_digest, exc)
        finally:
            with self._feeding:
                self.finished.set()
                self._release()

    def _release(self) -> None:
        for event in self.ready:  # extents never cut stay uncached: the lazy fallback serves them
            event.set()

    def feed(self, data: bytes) -> None:
        with self._feeding:
            self._buffer += data
            if self.runtime is not None:
                self._cut()

    def _cut(self) -> None:
        """Decode, check and cache every extent whose stored bytes are all in the buffer."""
        assert self.runtime is not None
        end = self._base + len(self._buffer)
        while self._next < len(self.spans) and sum(self.spans[self._next]) <= end:
            offset, size = self.spans[self._next]
            started = time.perf_counter()
            try:
                plain = self.runtime.decode_extent(self._next, self._buffer[offset - self._base:
                                                                            offset - self._base + size])
            except (OSError, ValueError) as exc:  # a bad frame or digest: this extent only, from chunks
                self.bad_extents += 1
                log.error("runtime blob %s: extent %d unusable (%s): reading it from chunks",
                          self.blob_digest, self._next, exc)
                plain = None
            self.decode_s += time.perf_counter() - started
            self._arrived(self._next, plain)
        cut = (self.spans[self._next][0] if self._next < len(self.spans) else end) - self._base
        del self._buffer[:max(0, cut)]  # keep only the extent in progress
        self._base += max(0, cut)

    def _keys(self, i: int) -> list[tuple[str, int]]:
        assert self.runtime is not None
        extent = self.runtime.extents[i]
        digest = self.runtime.file_digests[extent.path]
        return [(digest, (extent.file_offset + k) // PAGE) for k in range(0, extent.length, PAGE)]

    def _arrived(self, i: int, plain: bytes | None) -> None:
        """Extent `i` is in: its pages cached for every owner (None: unusable), then released.
        One lock with `join`, so a container joining now owns every page cached before it."""
        with self._lock:
            if plain is not None:
                for k, key in zip(range(0, len(plain), PAGE), self._keys(i)):
                    self.cache.insert(self.owners[0], key, plain[k:k + PAGE])
                for owner in self.owners[1:]:
                    self.cache.adopt(owner, self._keys(i))
            self._next = i + 1
        self.ready[i].set()

    def wait(self, blob_offset: int, timeout: float) -> None:
        """Until the extent holding `blob_offset` has arrived (or the stream gave up)."""
        i = bisect.bisect_right(self.starts, blob_offset) - 1
        if i >= 0 and not self.ready[i].wait(timeout):
            log.warning("runtime extent %d still in flight after %.0f s: reading it from chunks", i, timeout)


class StartupTree(Tree):
    """Lookups from the start's metadata in the runtime index, the full index only beyond it.

    A path in the subset is answered at once; so is a miss in a directory the subset lists
    completely (ENOENT, no wait); anything else fetches the full flat index, once, when a lookup
    first needs it. Not before: fetching and parsing 1–2 MB of JSON while the start runs took
    the daemon's CPU from the start (measured: +0.06–0.15 s on `import numpy`)."""

    def __init__(self, nodes: dict[str, Node], complete_dirs: list[str], full: Callable[[], Tree]):
        self.nodes, self.complete = nodes, set(complete_dirs)
        self._children = children_index(nodes)
        self._full = full
        self.full_lookups = 0  # lookups the subset could not answer

    def lookup(self, path: str) -> Node | None:
        node = self.nodes.get(path)
        if node is not None or parent(path) in self.complete:
            return node
        self.full_lookups += 1
        return self._full().lookup(path)

    def listdir(self, path: str) -> list[str]:
        if path in self.complete:
            return self._children.get(path, [])
        self.full_lookups += 1
        return self._full().listdir(path)


@LOADERS.register("trio", default=True)
class Trio(LazyFlat):
    needs_trace = True  # `sysai trio mount` asks for `sysai trio record` first
    order = 40  # display position in tables (full first, trio last)
    hit_bytes = miss_bytes = 0  # counters (also when prepare() failed before setting them)
    fetched_blob = False
    stream: BlobStream | None = None

    def prepare(self) -> None:
        if self.ctx.manifest.runtime_index is None:
            raise UserError("this image has no runtime image yet: record a trace first "
                            "(`sysai trio record IMAGE -- COMMAND`, or `sysai trio build --trace FILE`)")

        def parse(data: dict) -> tuple[RuntimeImage, ExtentIndex]:
            runtime = RuntimeImage.from_dict(data)
            return runtime, ExtentIndex(runtime.extents)

        if self.ctx.manifest.runtime_blob:  # the manifest names the blob: its one GET starts now
            self._open_stream(self.ctx.manifest.runtime_blob)
        runtime, self.index = self.fetch_json(self.ctx.manifest.runtime_index, parse)
        if self.stream is None:  # an image built before manifests named the blob
            self._open_stream(runtime.blob_digest)
        assert self.stream is not None
        self.stream.attach(runtime)
        self.digests = runtime.file_digests
        if runtime.nodes:  # the start's metadata came with the index: start now, fetch the rest later
            self.tree = StartupTree(runtime.nodes, runtime.complete_dirs, lambda: self._flat()[1])
        else:
            self.tree = self._flat()[1]
        self.background = self.stream.finished  # what runs behind the start: the blob, nothing else

    def _open_stream(self, digest: str) -> None:
        """Join the blob's stream; the first container of the daemon starts it (the one GET)."""
        self.stream, self.fetched_blob = self.ctx.cache.shared(
            f"runtime-blob {digest}", lambda: BlobStream(digest, self.ctx.cache))
        self.stream.join(self.ctx.owner)
        if self.fetched_blob:  # the container starts while it streams
            threading.Thread(target=self.stream.run, args=(self.ctx.client,), daemon=True, name="trio-blob").start()

    @property
    def image(self) -> ChunkedImage:  # lazy-flat's read path asks for chunks only on a miss
        return self._flat()[0]

    def read(self, path, node, offset, size):
        size = max(0, min(size, node.size - offset))
        out = bytearray()
        for start, length, blob_offset in self.index.lookup(path, offset, size):
            if blob_offset is not None:
                self.stream.wait(blob_offset, self.ctx.client.timeout_s * (self.ctx.client.retries + 1))
            # pages are keyed by content: another image's runtime blob may hold this range
            data = self._from_cache(node.digest, start, length)
            if data is None:
                self.miss_bytes += length
                data = super().read(path, node, start, length)
            else:
                self.hit_bytes += length
            out += data
        return bytes(out)

    def holds(self, path: str) -> bool:
        return path in self.digests

    def _from_cache(self, digest: str, start: int, length: int) -> bytes | None:
        """The bytes from cached pages, or None if any page was evicted."""
        out = bytearray()
        for page_no in range(start // PAGE, (start + length - 1) // PAGE + 1):
            page = self.ctx.cache.get(self.ctx.owner, (digest, page_no))
            if page is None:
                return None
            out += page
        lo = start - start // PAGE * PAGE
        return bytes(out[lo:lo + length])

    def stats(self):
        decode_s = self.stream.decode_s if self.stream is not None and self.fetched_blob else 0.0
        full_lookups = self.tree.full_lookups if isinstance(self.tree, StartupTree) else 0
        return {**super().stats(), "hit_bytes": self.hit_bytes, "miss_bytes": self.miss_bytes,
                "fetched_blob": int(self.fetched_blob), "blob_decompress_s": decode_s,
                "full_index_lookups": full_lookups}
