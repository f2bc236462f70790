"""Automatic prefix caching, with vLLM's semantics (pure bookkeeping, no time, no I/O).

vLLM ("Automatic Prefix Caching", the block manager of PagedAttention; SGLang's RadixAttention
does the same with a radix tree) keeps the KV blocks of finished requests around and hands them
to a later request whose prompt starts with the same tokens, which then skips their prefill:

* Only **full blocks** are cached, each under the **hash chain** key of its whole prefix
  (:func:`llm_la_lab.request.chain`), so a hit on block *i* means blocks 0…i are cached too and
  a lookup walks the prompt's keys until the first miss.
* A cached block is **referenced** by every running request that uses it and cannot be freed
  then. Once no request references it, it stays cached but becomes **evictable**: the allocator
  takes evictable blocks, least recently used first, only when no free block is left. A request
  releases its blocks tail first (vLLM's free-queue order), so a shared system prompt outlives
  the conversation-specific blocks behind it.

Here a cache entry is one *key block* of ``blocks_per_key`` KV blocks: a Mooncake trace hashes
512-token blocks (32 KV blocks of 16 tokens), the live engines hash 16-word blocks (one each).
"""

from __future__ import annotations

from collections import OrderedDict


class PrefixCache:
    """Reference-counted cache entries plus an LRU list of the unreferenced ones."""

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}  # key -> running requests referencing it
        self.size: dict[int, int] = {}  # key -> KV blocks it holds
        self.lru: OrderedDict[int, None] = OrderedDict()  # unreferenced keys, least recently used first
        self.evictable_blocks = 0
        self.queries = 0  # prompt tokens looked up (vLLM's prefix_cache_queries counter)
        self.hits = 0  # of which found cached (prefix_cache_hits)
        self.evicted = 0  # entries evicted

    def __len__(self) -> int:
        return len(self.size)

    def match(self, keys) -> tuple[int, int]:
        """(contiguous keys cached from the start, blocks among those that are evictable now)."""
        hit = 0
        reclaim = 0
        size, refs = self.size, self.refs
        for key in keys:
            if key not in size:
                break
            hit += 1
            if refs[key] == 0:
                reclaim += size[key]
        return hit, reclaim

    def acquire(self, keys) -> None:
        """Reference cached `keys` (a request starts using them)."""
        for key in keys:
            if self.refs[key] == 0:
                del self.lru[key]
                self.evictable_blocks -= self.size[key]
            self.refs[key] += 1

    def insert(self, key: int, blocks: int) -> bool:
        """Cache a block its owner just filled (owner holds the one reference); False if already cached."""
        if key in self.size:
            return False
        self.size[key] = blocks
        self.refs[key] = 1
        return True

    def release(self, keys) -> None:
        """Drop one reference of each of `keys`; unreferenced ones become evictable, tail first."""
        for key in reversed(keys):
            refs = self.refs[key] - 1
            self.refs[key] = refs
            if refs == 0:
                self.lru[key] = None
                self.evictable_blocks += self.size[key]

    def evict(self, blocks: int) -> int:
        """Evict least recently used unreferenced entries until at least `blocks` KV blocks are freed."""
        freed = 0
        while freed < blocks and self.lru:
            key, _ = self.lru.popitem(last=False)
            freed += self.size.pop(key)
            del self.refs[key]
            self.evicted += 1
        self.evictable_blocks -= freed
        return freed

    def contains(self, keys) -> int:
        """Contiguous cached keys from the start (for routers' precise prefix scorers)."""
        return self.match(keys)[0]

    @property
    def hit_rate(self) -> float:
        return self.hits / self.queries if self.queries else 0.0
