"""The cooperative runtime page cache: sharing by content, memory accounting, eviction."""

from __future__ import annotations

import pytest

from trio_lab.cache import RuntimeCache
from trio_lab.evictions.base import EVICTIONS


def test_pages_with_the_same_content_are_held_once_and_counted_per_owner():
    cache = RuntimeCache()
    for owner in ("c0", "c1", "c2"):
        cache.insert(owner, ("sha256:f", 0), b"x" * 4096)
        cache.insert(owner, ("sha256:f", 1), b"y" * 100)
    cache.insert("c0", ("sha256:other", 0), b"z" * 4096)
    stats = cache.stats()
    assert stats.pages == 3 and stats.owners == 3
    assert stats.shared_bytes == 4096 + 100 + 4096
    assert stats.private_bytes == 3 * (4096 + 100) + 4096
    assert cache.get("c1", ("sha256:f", 1)) == b"y" * 100 and cache.get("c1", ("sha256:f", 9)) is None
    assert (cache.stats().hits, cache.stats().misses) == (1, 1)


def test_a_capacity_needs_a_policy_and_fifo_drops_the_oldest():
    with pytest.raises(ValueError):
        RuntimeCache(10)
    cache = RuntimeCache(3 * 10, EVICTIONS.create("fifo"))
    for page in range(3):
        cache.insert("c", ("d", page), b"." * 10)
    cache.get("c", ("d", 0))
    cache.insert("c", ("d", 3), b"." * 10)
    assert sorted(k[1] for k in cache.entries) == [1, 2, 3]
    assert cache.stats().evictions == 1 and cache.stats().shared_bytes == 30


@pytest.mark.task1_4
def test_lru_keeps_the_page_that_is_still_read():
    cache = RuntimeCache(3 * 10, EVICTIONS.create("lru"))
    for page in range(3):
        cache.insert("c", ("d", page), b"." * 10)
    cache.get("c", ("d", 0))  # page 0 is warm again; page 1 is now the least recently used
    cache.insert("c", ("d", 3), b"." * 10)
    assert sorted(k[1] for k in cache.entries) == [0, 2, 3]
    cache.get("c", ("d", 2))
    cache.insert("c", ("d", 4), b"." * 10)
    assert sorted(k[1] for k in cache.entries) == [2, 3, 4]


@pytest.mark.task1_4
def test_lru_breaks_ties_by_insertion_order():
    cache = RuntimeCache(2 * 10, EVICTIONS.create("lru"))
    cache.insert("c", ("d", 0), b"." * 10)
    cache.insert("c", ("d", 1), b"." * 10)
    victim = EVICTIONS.create("lru").victim(cache.entries)
    assert victim == ("d", 0)


def test_unknown_policy_is_a_user_error():
    from sysai.errors import UserError

    with pytest.raises(UserError, match="unknown eviction policy 'nope'.*fifo, lru"):
        EVICTIONS.get("nope")
