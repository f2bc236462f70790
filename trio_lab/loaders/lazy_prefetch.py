"""`lazy-prefetch`: `lazy-flat` plus background prefetch of the chunks the startup trace read
(Nydus's prefetch list, eStargz's "prioritized files", SOCI's background fetch).

At mount it fetches the flat index and the runtime *index* (not the blob); the container starts
at once, while a few background threads fetch, in first-access order, every chunk holding a
traced range. A read whose chunk is already in flight waits for it instead of fetching it twice
(the cache fetches each digest once). It still pays one request per chunk, but those round trips
overlap with each other and with the start — the middle ground between `lazy-flat` and `trio`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sysai.errors import UserError
from trio_lab.chunked import chunk_span
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_flat import LazyFlat
from trio_lab.runtime import RuntimeImage

log = logging.getLogger("trio_lab.prefetch")
THREADS = 4  # concurrent prefetch requests (Nydus: `prefetch.threads_count`)


@LOADERS.register("lazy-prefetch")
class LazyPrefetch(LazyFlat):
    prefetched = 0  # chunks the background threads fetched

    def prepare(self) -> None:
        if self.ctx.manifest.runtime_index is None:
            raise UserError("this image has no trace to prefetch from: record one first "
                            "(`sysai trio record IMAGE -- COMMAND`)")
        super().prepare()
        runtime = self.fetch_json(self.ctx.manifest.runtime_index, RuntimeImage.from_dict)
        wanted: dict[str, None] = {}  # chunk digests, first access first, each once
        for extent in runtime.extents:
            pieces = self.image.chunks.get(extent.path, [])
            for i in chunk_span(extent.file_offset, extent.length, self.image.chunk_size):
                wanted.setdefault(pieces[i][0])
        self.done = threading.Event()
        threading.Thread(target=self._prefetch, args=(list(wanted),), daemon=True, name="prefetch").start()

    def _prefetch(self, digests: list[str]) -> None:
        def one(digest: str) -> bool:
            try:
                self._chunk(digest)
                return True
            except OSError as exc:  # a foreground read will try again and report EIO if it must
                log.warning("prefetch of %s failed: %s", digest, exc)
                return False

        with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="prefetch") as pool:
            self.prefetched = sum(pool.map(one, digests))
        self.done.set()

    def stats(self):
        return {**super().stats(), "prefetched": self.prefetched}
