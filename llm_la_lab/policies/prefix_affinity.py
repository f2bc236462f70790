"""Prefix affinity: the replica holding most of the prompt's blocks wins; load is ignored.

The naive cache-aware router (vLLM production-stack's ``prefixaware`` idea taken alone): every
request goes where its longest cached prefix is, ties (e.g. nothing cached anywhere) in turn.
On a trace with popular shared prefixes it shows the **hot-spot failure**: the replica that
first served a popular system prompt attracts every later request that shares it, queues grow
there while other replicas idle, and the prefill saved is lost many times over in waiting.
``precise`` reads the replicas' caches (llm-d's KV events) where they report them; otherwise
(and always in the live proxy, whose backends do not) the router's own index.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.policies.base import POLICIES, Policy
from llm_la_lab.scorers import ApproxIndex, prefix_scores


@dataclass
class PrefixAffinityConfig:
    precise: bool = option(True, "read the replicas' prefix caches where reported (else the router's own index)")


@POLICIES.register("prefix_affinity", default=True)
class PrefixAffinity(Policy):
    Config = PrefixAffinityConfig

    def __init__(self, seed: int = 0, config: PrefixAffinityConfig | None = None):
        super().__init__(seed, config)
        self.index = ApproxIndex()
        self.next = 0

    def choose(self, request, loads):
        if request.full_keys:
            caches = [s.prefix_cache if self.config.precise and s.prefix_cache is not None
                      else self.index.cache(s.replica) for s in loads]
            scores = prefix_scores(request, caches)
        else:
            scores = [0.0] * len(loads)
        best = max(scores)
        tied = [s for s, score in zip(loads, scores) if score == best]
        choice = tied[self.next % len(tied)]
        self.next += 1
        self.index.record(choice, request)
        return choice.replica
