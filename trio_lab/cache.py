"""The cooperative runtime page cache: pages keyed by content, shared by every container.

TrIO's runtime image is copied at mount straight into a page cache that lives as long as the
image is in use (openEuler ``fs/erofs/trio_manager.c``). FlacIO's "collective" half is that
containers started from images sharing content share those pages: here a page's key is
``(file content digest, page number)``, so N containers of one image, or two images holding the
same file, keep one copy. The cache counts what it holds (``shared_bytes``) against what N
private caches would have held (``private_bytes``).

With a capacity, a pluggable :class:`trio_lab.evictions.base.EvictionPolicy` picks the victim.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

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
class CacheStats:
    pages: int
    shared_bytes: int  # bytes held once, however many containers use them
    private_bytes: int  # bytes the same containers would hold with one cache each
    owners: int
    hits: int
    misses: int
    evictions: int


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
        self._loads: dict[str, threading.Event] = {}

    def load_once(self, name: str, load) -> bool:
        """Run `load()` for `name` (e.g. a runtime blob digest) once per cache; concurrent
        callers wait for the first. True for the caller that loaded. If it fails, the next
        caller tries again."""
        with self._lock:
            done = self._loads.get(name)
            mine = done is None
            if mine:
                done = self._loads[name] = threading.Event()
        if not mine:
            done.wait()
            with self._lock:
                if self._loads.get(name) is done:
                    return False
            return self.load_once(name, load)
        try:
            load()
        except BaseException:
            with self._lock:
                del self._loads[name]
            raise
        finally:
            done.set()
        return True

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
            return CacheStats(len(self.entries), self._bytes, private, len(self._owners),
                              self.hits, self.misses, self.evictions)
