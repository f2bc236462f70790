"""`trio`: ONE request for the runtime blob at mount, its pages into the runtime page cache;
reads the startup trace covered are served from memory, the rest fall back to `lazy-flat`.

The page cache is keyed by file content, so several containers (mounts) of one daemon share
it: the cooperative part of FlacIO. With a shared cache the blob is fetched by the first
container only; the others adopt its pages.
"""

from __future__ import annotations

import logging
import time

from sysai.errors import UserError
from trio_lab.fetch import FetchError
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_flat import LazyFlat
from trio_lab.model import PAGE
from trio_lab.runtime import ExtentIndex, RuntimeImage

log = logging.getLogger("trio_lab.trio")


@LOADERS.register("trio", default=True)
class Trio(LazyFlat):
    needs_trace = True  # `sysai trio mount` asks for `sysai trio record` first
    order = 40  # display position in tables (full first, trio last)
    hit_bytes = miss_bytes = 0  # counters (also when prepare() failed before setting them)
    blob_decompress_s = 0.0
    fetched_blob = False

    def prepare(self) -> None:
        if self.ctx.manifest.runtime_index is None:
            raise UserError("this image has no runtime image yet: record a trace first "
                            "(`sysai trio record IMAGE -- COMMAND`, or `sysai trio build --trace FILE`)")
        super().prepare()

        def parse(data: dict) -> tuple[RuntimeImage, ExtentIndex]:
            runtime = RuntimeImage.from_dict(data)
            return runtime, ExtentIndex(runtime.extents)

        runtime, self.index = self.fetch_json(self.ctx.manifest.runtime_index, parse)
        self.digests = runtime.file_digests
        try:
            self.fetched_blob = self.ctx.cache.load_once(runtime.blob_digest, lambda: self._load(runtime))
        except FetchError as exc:  # a bad blob costs speed, never correctness: every read falls back
            log.error("runtime blob %s unusable (%s): serving this start from chunks", runtime.blob_digest, exc)
        self.ctx.cache.adopt(self.ctx.owner, [(self.digests[e.path], (e.file_offset + k) // PAGE)
                                              for e in runtime.extents for k in range(0, e.length, PAGE)])

    def _load(self, runtime: RuntimeImage) -> None:
        """The one GET of the runtime blob; its pages go straight into the runtime page cache."""
        blob = self.ctx.client.blob(runtime.blob_digest)
        started = time.perf_counter()
        pieces = runtime.extent_bytes(blob)  # zstd frames decoded by the daemon, into the page cache
        self.blob_decompress_s = time.perf_counter() - started
        for extent, data in zip(runtime.extents, pieces):
            digest = self.digests[extent.path]
            for k in range(0, extent.length, PAGE):
                page = data[k:min(k + PAGE, extent.length)]
                self.ctx.cache.insert(self.ctx.owner, (digest, (extent.file_offset + k) // PAGE), page)

    def read(self, path, node, offset, size):
        size = max(0, min(size, node.size - offset))
        out = bytearray()
        for start, length, blob_offset in self.index.lookup(path, offset, size):
            data = None if blob_offset is None else self._from_cache(node.digest, start, length)
            if data is None:
                self.miss_bytes += length
                data = super().read(path, node, start, length)
            else:
                self.hit_bytes += length
            out += data
        return bytes(out)

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
        return {**super().stats(), "hit_bytes": self.hit_bytes, "miss_bytes": self.miss_bytes,
                "fetched_blob": int(self.fetched_blob), "blob_decompress_s": self.blob_decompress_s}
