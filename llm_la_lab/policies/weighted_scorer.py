"""Weighted scorer: llm-d's inference scheduler — filter, score, pick.

1. **Filter**: drop replicas whose KV cache is at least ``kv_filter`` full (unless all are).
2. **Score** every remaining replica with llm-d's scorers (:mod:`llm_la_lab.scorers`): queue
   (fewest requests), KV-cache utilisation (most free cache) and prefix (share of the prompt's
   blocks cached there), each in [0, 1], summed with ``weights``.
3. **Pick** the highest total; ties at random (seeded), as llm-d's max-score picker does.

Two registered variants, one mechanism: ``weighted_scorer`` scores prefixes **precisely** from the
replicas' own caches (llm-d's precise prefix-cache scorer, fed by vLLM KV events);
``weighted_scorer_approx`` from the router's own record of what it sent where (llm-d's
approximate scorer); the precise one falls back to the approximate index for a replica that
does not report its cache (the live proxy's backends). Weights:
``--set weighted_scorer.weights='{queue: 1, kv_cache: 1, prefix: 2}'`` or a ``--policy-config`` YAML section.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.policies.base import POLICIES, Policy, SinceSnapshot
from llm_la_lab.scorers import ApproxIndex, kv_scores, prefix_scores, queue_scores

SCORERS = ("queue", "kv_cache", "prefix")


@dataclass
class WeightedScorerConfig:
    weights: dict[str, float] = option({"queue": 1.0, "kv_cache": 1.0, "prefix": 2.0},
                           f"weight of each scorer ({', '.join(SCORERS)}); a missing scorer weighs 0")
    kv_filter: float = option(0.95, "filter out replicas whose KV use is at least this (unless all are)")

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(SCORERS))
        if unknown:
            raise ValueError(f"weights: unknown scorer(s) {', '.join(map(repr, unknown))} "
                             f"(scorers: {', '.join(SCORERS)})")
        for name, weight in self.weights.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
                raise ValueError(f"weights: {name} must be a number ≥ 0, got {weight!r}")
        if not 0 < self.kv_filter <= 1:
            raise ValueError(f"kv_filter must be in (0, 1], got {self.kv_filter}")


@POLICIES.register("weighted_scorer", default=True)
class WeightedScorer(Policy):
    Config = WeightedScorerConfig
    precise = True

    def __init__(self, seed: int = 0, config: WeightedScorerConfig | None = None):
        super().__init__(seed, config)
        self.index = ApproxIndex()
        self.sent = SinceSnapshot()

    def choose(self, request, loads):
        cfg = self.config
        kept = [s for s in loads if s.kv_util < cfg.kv_filter] or list(loads)
        weights = cfg.weights
        extra = [self.sent.extra(s)[0] for s in kept]
        if request.full_keys:
            caches = [s.prefix_cache if self.precise and s.prefix_cache is not None else self.index.cache(s.replica)
                      for s in kept]  # a replica that does not report its cache: the router's own index
            prefix = prefix_scores(request, caches)
        else:  # nothing a cache could hold
            prefix = [0.0] * len(kept)
        totals = [0.0] * len(kept)
        for name, scores in (("queue", queue_scores(kept, extra)), ("kv_cache", kv_scores(kept)),
                             ("prefix", prefix)):
            weight = weights.get(name, 0.0)
            if weight:
                totals = [t + weight * x for t, x in zip(totals, scores)]
        best = max(totals)
        tied = [s for s, t in zip(kept, totals) if t >= best - 1e-12]
        choice = tied[self.rng.randrange(len(tied))] if len(tied) > 1 else tied[0]
        self.sent.record(choice, request.prompt + request.predicted)
        self.index.record(choice, request)
        return choice.replica


@POLICIES.register("weighted_scorer_approx")
class WeightedScorerApprox(WeightedScorer):
    """The same scheduler with llm-d's approximate prefix scorer (the router's own index)."""

    precise = False
