"""`lazy-prefetch`: a fair Nydus — lazy chunks, merged Range GETs, and a prefetch list.

Nydus (``nydusd``) serves a flattened image (RAFS) whose chunks sit back to back in a data
blob, and does three things a plain lazy loader does not:

- **request merging / amplification** (``amplify_io``): a read that misses one chunk fetches,
  in the *same* Range GET, the chunks that follow it in the blob, up to ``amplify_kb``; a
  directory's small files are neighbours in the blob, so one round trip brings many of them;
- **a prefetch list** (``--prefetch-files`` from the startup trace): at mount, background
  workers (``prefetch.threads_count``) fetch the traced chunks, sorted by blob offset and
  merged into Range GETs of up to ``merge_kb`` (``prefetch.merging_size``), bridging gaps of
  up to ``gap_kb`` of untraced chunks (fetched and kept: they may be read later);
- every chunk is verified by its digest before use; a read whose chunk is in flight in some
  merged request waits for that request instead of fetching it again.

At mount it fetches the flat index and the runtime *index* (not TrIO's blob); the container
starts at once while prefetch runs. TrIO's difference is then what remains: one GET of a
page-aligned blob of exactly the traced bytes, straight into a shared runtime page cache.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError
from trio_lab.chunked import chunk_span
from trio_lab.fetch import FetchError
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_flat import LazyFlat
from trio_lab.runtime import RuntimeImage

log = logging.getLogger("trio_lab.prefetch")


def merge_runs(chunks: list[tuple[str, int, int]], max_bytes: int, max_gap: int = 0) -> list[list[tuple[str, int,
                                                                                                        int]]]:
    """Group ``(digest, blob offset, size)`` chunks into runs, each fetched with one Range GET.

    Chunks are sorted by blob offset; a chunk joins the current run when the gap between the
    run's end and the chunk's start is at most `max_gap` bytes and the run, gap included, stays
    within `max_bytes` (a chunk larger than `max_bytes` is a run of its own). Duplicates count once.
    """
    # BEGIN SOLUTION task1_5
    runs: list[list[tuple[str, int, int]]] = []
    seen: set[str] = set()
    for chunk in sorted(chunks, key=lambda c: (c[1], c[0])):
        digest, offset, size = chunk
        if digest in seen:
            continue
        seen.add(digest)
        if runs:
            first, last = runs[-1][0], runs[-1][-1]
            end = last[1] + last[2]
            if 0 <= offset - end <= max_gap and offset + size - first[1] <= max_bytes:
                runs[-1].append(chunk)
                continue
        runs.append([chunk])
    return runs
    # END SOLUTION


@LOADERS.register("lazy-prefetch", default=True)
class LazyPrefetch(LazyFlat):
    """A fair Nydus: lazy 1 MiB chunks with merged Range GETs and a prefetch list from the trace."""
    needs_trace = True  # `sysai trio mount` asks for `sysai trio record` first
    order = 30  # display position in tables (full first, trio last)

    @dataclass
    class Config:
        threads: int = option(4, "background prefetch workers (Nydus prefetch.threads_count)")
        amplify_kb: int = option(1024, "an on-demand miss also fetches the chunks that follow it in the blob, "
                                       "up to this many KiB in the same Range GET (Nydus amplify_io; 0: off)")
        merge_kb: int = option(1024, "prefetch merges traced chunks into Range GETs of up to this many KiB "
                                     "(Nydus prefetch.merging_size)")
        gap_kb: int = option(64, "prefetch bridges gaps of up to this many KiB of untraced chunks in one request")
        prefetch: bool = option(True, "prefetch the chunks the startup trace read (Nydus's prefetch list)")

    prefetched = 0  # chunks that arrived through prefetch requests
    merged_requests = 0  # Range GETs carrying more than one chunk

    def prepare(self) -> None:
        if self.ctx.manifest.runtime_index is None and self.config.prefetch:
            raise UserError("this image has no trace to prefetch from: record one first "
                            "(`sysai trio record IMAGE -- COMMAND`)")
        super().prepare()
        if not self.image.blob:
            raise UserError("this image was built without a chunk data blob: rebuild it with `sysai trio build`")
        self._by_offset = sorted(self.image.offsets.items(), key=lambda kv: kv[1])
        self._position = {digest: i for i, (digest, _) in enumerate(self._by_offset)}
        plain = {d: n for pieces in self.image.chunks.values() for d, n in pieces}
        self._stored = {d: self.image.stored_ref(d, n)[1] for d, n in plain.items()}  # as stored in the data blob
        self._plain = plain
        # in-flight chunks, shared by the containers of a cooperative daemon (one cache, one map)
        (self._inflight, self._lock), _ = self.ctx.cache.shared("nydus-inflight", lambda: ({}, threading.Lock()))
        self.done = threading.Event()
        if not self.config.prefetch:
            self.done.set()
            return
        runtime = self.fetch_json(self.ctx.manifest.runtime_index, RuntimeImage.from_dict)
        first_use: dict[str, int] = {}  # chunk digest → position of its first traced access
        for extent in runtime.extents:
            pieces = self.image.chunks.get(extent.path, [])
            for i in chunk_span(extent.file_offset, extent.length, self.image.chunk_size):
                first_use.setdefault(pieces[i][0], len(first_use))
        chunks = [(d, self.image.offsets[d], self._stored[d]) for d in first_use]
        runs = merge_runs(chunks, self.config.merge_kb << 10, self.config.gap_kb << 10)
        runs = [self._with_gaps(run) for run in runs]
        runs.sort(key=lambda run: min(first_use.get(d, len(first_use)) for d, _, _ in run))
        threading.Thread(target=self._prefetch, args=(runs,), daemon=True, name="prefetch").start()

    def _with_gaps(self, run: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """The run plus the untraced chunks between its members (the bytes the GET carries anyway)."""
        lo, hi = self._position[run[0][0]], self._position[run[-1][0]]
        return [(d, off, self._stored[d]) for d, off in self._by_offset[lo:hi + 1]]

    def _prefetch(self, runs: list[list[tuple[str, int, int]]]) -> None:
        def one(run) -> int:
            try:
                return self._fetch_run(run)
            except OSError as exc:  # a foreground read will try again and report EIO if it must
                log.warning("prefetch of %d chunks failed: %s", len(run), exc)
                return 0
            except Exception as exc:  # one line, never a traceback from a background thread (e.g. a task stub)
                log.error("prefetch stopped: %s", exc)
                return 0

        with ThreadPoolExecutor(max_workers=max(1, self.config.threads), thread_name_prefix="prefetch") as pool:
            self.prefetched = sum(pool.map(one, runs))
        self.done.set()

    def _fetch_run(self, run: list[tuple[str, int, int]]) -> int:
        """One Range GET for `run`'s chunks not cached or in flight; each verified, then cached."""
        with self._lock:
            todo = [c for c in run if c[0] not in self._inflight and not self.ctx.cache.has(c[0])]
            # keep the request contiguous: stop at the first chunk someone else is fetching
            for k, c in enumerate(todo):
                if k and c[1] != todo[k - 1][1] + todo[k - 1][2]:
                    todo = todo[:k]
                    break
            events = {d: self._inflight.setdefault(d, threading.Event()) for d, _, _ in todo}
        if not todo:
            return 0
        try:
            start, end = todo[0][1], todo[-1][1] + todo[-1][2]
            data = self.ctx.client.blob(self.image.blob, start, end - start)
            self.merged_requests += len(todo) > 1
            for digest, offset, size in todo:
                started = time.perf_counter()
                piece = self.image.decode(digest, self._plain[digest], data[offset - start:offset - start + size])
                self.decompress_s += time.perf_counter() - started
                self.fetches += 1
                self.ctx.cache.content(self.ctx.owner, "chunk", digest, lambda piece=piece: piece)
        finally:
            with self._lock:
                for digest, event in events.items():
                    del self._inflight[digest]
                    event.set()
        return len(todo)

    def _chunk(self, digest: str) -> bytes:
        with self._lock:
            waiting = self._inflight.get(digest)
        if waiting is not None:
            waiting.wait()
        if not self.ctx.cache.has(digest) and self.config.amplify_kb > 0:
            i = self._position[digest]
            run, total = [], 0
            for d, off in self._by_offset[i:]:
                if run and (total + self._stored[d] > self.config.amplify_kb << 10 or self.ctx.cache.has(d)):
                    break
                run.append((d, off, self._stored[d]))
                total += self._stored[d]
            try:
                self._fetch_run(run)
            except FetchError as exc:  # fall back to the chunk alone (its own verified GET)
                log.warning("merged read failed, fetching the chunk alone: %s", exc)
        return super()._chunk(digest)

    def stats(self):
        return {**super().stats(), "prefetched": self.prefetched, "merged_requests": self.merged_requests}
