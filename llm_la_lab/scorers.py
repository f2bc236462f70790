"""Scorers for prefix- and load-aware routing (llm-d's inference scheduler; SGLang's cache-aware router).

llm-d routes a request in three steps: **filter** the replicas (e.g. drop those whose KV cache is
nearly full), **score** each remaining one with several scorers (each in [0, 1], higher = better)
and a weighted sum, **pick** the best. Its scorers, here:

* :func:`queue_scores` — fewer requests at the replica is better (min–max normalised);
* :func:`kv_scores` — more free KV cache is better (``1 − kv_util``);
* :func:`prefix_scores` — more of the request's prompt blocks already cached there is better. The
  **precise** variant asks the replica (llm-d subscribes to vLLM's KV-cache events:
  ``LoadSignal.prefix_cache``); the **approximate** one remembers which prompts the router itself
  sent where (:class:`ApproxIndex`, an LRU per replica — SGLang's router keeps a radix tree per
  worker the same way). Approximate is wrong when the replica has evicted what the router thinks
  it holds, or when another router sent it something.

Prefix caching only pays when requests that share a prefix meet on the same replica; sending
everything to the replica with the best hit is the opposite failure (a hot spot). The policies
that use these scorers differ in how they weigh the two.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Container, Sequence

from llm_la_lab.load import LoadSignal
from llm_la_lab.request import Request


def cached_blocks(keys: Sequence[int], cache: Container[int] | None) -> int:
    """How many of `keys` are in `cache`, counted from the first block up to the first miss."""
    if cache is None:
        return 0
    n = 0
    for key in keys:
        if key not in cache:
            break
        n += 1
    return n


def prefix_scores(request: Request, caches: Sequence[Container[int] | None]) -> list[float]:
    """Per replica, the share of the request's full prompt blocks it holds, contiguous from the first.

    `caches[i]` answers ``key in caches[i]`` for replica i (None: it holds nothing we know of).
    A prefix cache can only reuse a block if every block before it is reused too (the keys form a
    hash chain), so counting stops at the first block that is not cached: a prompt whose blocks
    2–9 are cached but not block 1 scores 0. A request without full blocks scores 0 everywhere.
    """
    # BEGIN SOLUTION task2_5
    keys = request.full_keys
    if not keys:
        return [0.0] * len(caches)
    return [cached_blocks(keys, cache) / len(keys) for cache in caches]
    # END SOLUTION


def queue_scores(loads: Sequence[LoadSignal], extra: Sequence[int] | None = None) -> list[float]:
    """1 for the replica with the fewest requests, 0 for the most, linear in between (all 1 if equal)."""
    counts = [s.requests + (extra[i] if extra else 0) for i, s in enumerate(loads)]
    low, high = min(counts), max(counts)
    if high == low:
        return [1.0] * len(loads)
    return [(high - c) / (high - low) for c in counts]


def kv_scores(loads: Sequence[LoadSignal]) -> list[float]:
    """Free share of each replica's KV cache."""
    return [max(0.0, 1.0 - s.kv_util) for s in loads]


class ApproxIndex:
    """The router's own guess of each replica's prefix cache: the keys it routed there, LRU-bounded.

    Each replica's entry holds at most the number of key blocks its KV cache could hold
    (``kv_tokens / key_tokens``); older keys fall out first, as the replica would evict them.
    """

    def __init__(self) -> None:
        self.keys: dict[int, OrderedDict[int, None]] = {}

    def cache(self, replica: int) -> OrderedDict[int, None]:
        return self.keys.setdefault(replica, OrderedDict())

    def record(self, signal: LoadSignal, request: Request) -> None:
        """`request` goes to `signal.replica`: its full blocks will be cached there."""
        keys = request.full_keys
        if not keys:
            return
        cache = self.cache(signal.replica)
        for key in keys:
            cache[key] = None
            cache.move_to_end(key)
        limit = max(1, signal.kv_tokens // request.key_tokens)
        while len(cache) > limit:
            cache.popitem(last=False)

    def size(self, replica: int) -> int:
        return len(self.keys.get(replica, ()))
