"""The cooperative runtime page cache: pages keyed by content, shared by every container.

TrIO's runtime image is copied at mount straight into a page cache that lives as long as the
image is in use (openEuler ``fs/erofs/trio_manager.c``). FlacIO's "collective" half is that
containers started from images sharing content share those pages: here a page's key is
``(file content digest, page number)``, so N containers of one image, or two images holding the
same file, keep one copy. The cache counts what it holds (``shared_bytes``) against what N
private caches would have held (``private_bytes``).

The same cache also holds the rest of what a daemon fetches by digest — metadata (the flat
index, the runtime index, layer tables of contents), chunks, whole files and layers — once per
digest however many containers ask (:meth:`RuntimeCache.content`), and counts those bytes too:
``content_bytes`` (held) against ``content_bytes_private`` (one copy per container using it).

With a capacity, a pluggable :class:`trio_lab.evictions.base.EvictionPolicy` picks the victim
among runtime pages (content fetched by digest is not evicted: a loader keeps what it fetched).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from trio_lab.evictions.base import EvictionPolicy

Key = tuple[str, int]  # (file content digest, page number)


@dataclass
class Entry:
    data: bytes
    inserted: int  # logical clock at insertion
    last_used: int  # logical clock at the last hit (or insertion)
    hits: int = 0
    owners: set[str] = field(default_factory=set)


@dataclass
class Content:
    """One thing fetched by digest: its parsed value, its size on the wire, who uses it."""

    kind: str  # "metadata", "chunk", "file", "layer"
    value: Any
    size: int
    owners: set[str] = field(default_factory=set)


@dataclass
class CacheStats:
    pages: int
    shared_bytes: int  # runtime pages held once, however many containers use them
    private_bytes: int  # runtime pages the same containers would hold with one cache each
    owners: int
    hits: int
    misses: int
    evictions: int
    content_bytes: int = 0  # metadata, chunks, files, layers fetched by digest, held once
    content_bytes_private: int = 0  # the same with one copy per container
    content_by_kind: dict = field(default_factory=dict)  # kind → [held, if private]
    content_fetches: int = 0  # digests fetched from the registry
    content_shared_hits: int = 0  # asks answered by a copy another container fetched

    @property
    def total_bytes(self) -> int:
        return self.shared_bytes + self.content_bytes

    @property
    def total_bytes_private(self) -> int:
        return self.private_bytes + self.content_bytes_private


class RuntimeCache:
    """Thread-safe page store; `owner` names the container (mount) using a page."""

    def __init__(self, capacity_bytes: int | None = None, policy: EvictionPolicy | None = None):
        if capacity_bytes is not None and policy is None:
            raise ValueError("a cache with a capacity needs an eviction policy")
        self.capacity = capacity_bytes
        self.policy = policy
        self.entries: OrderedDict[Key, Entry] = OrderedDict()  # insertion order
        self._bytes = 0
        self._clock = 0
        self._owners: set[str] = set()
        self.hits = self.misses = self.evictions = 0
        self._lock = threading.RLock()
        self._shared: dict[str, Any] = {}
        self.contents: dict[str, Content] = {}
        self._content_locks: dict[str, threading.Lock] = {}
        self.content_fetches = self.content_shared_hits = 0

    def content(self, owner: str, kind: str, digest: str, fetch: Callable[[], bytes],
                parse: Callable[[bytes], Any] | None = None) -> Any:
        """The content named `digest`, fetched (and parsed) once per cache: concurrent callers
        wait for the first; a failed fetch is not remembered, so the next read tries again.
        Same digest, same bytes, so one copy serves every container and every loader."""
        with self._lock:
            self._owners.add(owner)
            found = self.contents.get(digest)
            if found is None:
                lock = self._content_locks.setdefault(digest, threading.Lock())
        if found is None:
            with lock:
                with self._lock:
                    found = self.contents.get(digest)
                if found is None:
                    data = fetch()
                    value = parse(data) if parse is not None else data
                    with self._lock:
                        found = self.contents[digest] = Content(kind, value, len(data), {owner})
                        self.content_fetches += 1
                    return value
        with self._lock:
            if owner not in found.owners:
                found.owners.add(owner)
                self.content_shared_hits += 1
        return found.value

    def has(self, digest: str) -> bool:
        """True when content `digest` is cached already (no fetch, no owner recorded)."""
        with self._lock:
            return digest in self.contents

    def shared(self, name: str, make: Callable[[], Any]) -> tuple[Any, bool]:
        """The one object called `name` in this cache (e.g. a runtime blob on its way in, or a map
        of chunks in flight), made by the first caller: ``(object, made_by_this_caller)``. It is
        how the containers of a cooperative daemon share work that is under way, not only its
        results."""
        with self._lock:
            if name in self._shared:
                return self._shared[name], False
            made = self._shared[name] = make()
            return made, True

    def adopt(self, owner: str, keys) -> None:
        """Record that `owner` uses these (already cached) pages."""
        with self._lock:
            self._owners.add(owner)
            for key in keys:
                entry = self.entries.get(key)
                if entry is not None:
                    entry.owners.add(owner)

    def insert(self, owner: str, key: Key, data: bytes) -> None:
        with self._lock:
            self._clock += 1
            self._owners.add(owner)
            entry = self.entries.get(key)
            if entry is not None:  # same content already cached: share it
                entry.owners.add(owner)
                return
            if self.capacity is not None:
                if len(data) > self.capacity:
                    return
                while self._bytes + len(data) > self.capacity:
                    self._evict()
            self.entries[key] = Entry(data, self._clock, self._clock, owners={owner})
            self._bytes += len(data)

    def get(self, owner: str, key: Key) -> bytes | None:
        with self._lock:
            self._clock += 1
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            entry.hits += 1
            entry.last_used = self._clock
            entry.owners.add(owner)
            self.hits += 1
            return entry.data

    def _evict(self) -> None:
        assert self.policy is not None
        victim = self.policy.victim(self.entries)
        entry = self.entries.pop(victim)
        self._bytes -= len(entry.data)
        self.evictions += 1

    def stats(self) -> CacheStats:
        with self._lock:
            private = sum(len(e.data) * len(e.owners) for e in self.entries.values())
            by_kind: dict[str, list[int]] = {}
            for item in self.contents.values():
                held = by_kind.setdefault(item.kind, [0, 0])
                held[0] += item.size
                held[1] += item.size * len(item.owners)
            return CacheStats(len(self.entries), self._bytes, private, len(self._owners),
                              self.hits, self.misses, self.evictions,
                              sum(h for h, _ in by_kind.values()), sum(p for _, p in by_kind.values()),
                              by_kind, self.content_fetches, self.content_shared_hits)


def summarize(stats: list[CacheStats]) -> dict:
    """Memory of a daemon's caches (one if cooperative, one per container if not), in bytes:
    ``bytes`` held in total (runtime pages + content fetched by digest) against
    ``bytes_if_private`` (what one cache per container would hold), and the parts."""
    by_kind: dict[str, list[int]] = {}
    for s in stats:
        for kind, (held, private) in s.content_by_kind.items():
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += held
            by_kind[kind][1] += private
    return {
        "bytes": sum(s.total_bytes for s in stats),
        "bytes_if_private": sum(s.total_bytes_private for s in stats),
        "page_bytes": sum(s.shared_bytes for s in stats),
        "page_bytes_if_private": sum(s.private_bytes for s in stats),
        "content_by_kind": by_kind,
        "content_fetches": sum(s.content_fetches for s in stats),
        "content_shared_hits": sum(s.content_shared_hits for s in stats),
        "pages": sum(s.pages for s in stats),
        "hits": sum(s.hits for s in stats),
        "misses": sum(s.misses for s in stats),
        "evictions": sum(s.evictions for s in stats),
    }
