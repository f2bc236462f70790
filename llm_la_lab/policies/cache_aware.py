"""Cache-aware: the SGLang router's rule — balance when load is skewed, else follow the cache.

Per request (sglang-router's ``cache_aware`` policy):

1. If the load is **imbalanced** — ``max − min > balance_abs`` requests *and* ``max >
   balance_rel · min`` — go to the least loaded replica (the cache waits; hot spots do not grow).
2. Otherwise, if some replica's **prefix match rate** (matched blocks / prompt blocks) is above
   ``cache_threshold``, go to the best match.
3. Otherwise go to the replica with the **smallest tree** — the least cached data, where a new
   prefix evicts the least.

Like SGLang's router, it keeps its own approximate tree per worker (here an LRU of block keys,
:class:`~llm_la_lab.scorers.ApproxIndex`): it never asks the replicas what they cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.policies.base import POLICIES, Policy, SinceSnapshot
from llm_la_lab.scorers import ApproxIndex, prefix_scores


@dataclass
class CacheAwareConfig:
    balance_abs: int = option(64, "imbalanced if max − min requests exceeds this (SGLang's balance_abs_threshold)")
    balance_rel: float = option(1.5, "… and max exceeds this × min (balance_rel_threshold)")
    cache_threshold: float = option(0.3, "follow the best prefix match only above this match rate")

    def __post_init__(self) -> None:
        if self.balance_abs < 0 or not self.balance_rel >= 1 or not 0 <= self.cache_threshold <= 1:
            raise ValueError("balance_abs must be ≥ 0, balance_rel ≥ 1 and cache_threshold in [0, 1]")


@POLICIES.register("cache_aware", default=True)
class CacheAware(Policy):
    Config = CacheAwareConfig

    def __init__(self, seed: int = 0, config: CacheAwareConfig | None = None):
        super().__init__(seed, config)
        self.index = ApproxIndex()
        self.sent = SinceSnapshot()

    def choose(self, request, loads):
        cfg = self.config
        counts = [s.requests + self.sent.extra(s)[0] for s in loads]
        low, high = min(counts), max(counts)
        if high - low > cfg.balance_abs and high > cfg.balance_rel * low:
            choice = loads[counts.index(low)]
        else:
            rates = (prefix_scores(request, [self.index.cache(s.replica) for s in loads]) if request.full_keys
                     else [0.0] * len(loads))
            best = max(rates)
            if best > cfg.cache_threshold:
                choice = loads[rates.index(best)]
            else:
                choice = min(loads, key=lambda s: (self.index.size(s.replica), counts[loads.index(s)]))
        self.sent.record(choice, request.prompt + request.predicted)
        self.index.record(choice, request)
        return choice.replica
