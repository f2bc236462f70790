"""LLM-LA as publicly described in the talk: a central queue that replicas pull from, short first.

* **Pull on completion, from exact local counts.** The router counts, per replica, the requests
  it sent there that have not come back yet — exact, never stale: every reply passes through it
  (:meth:`completed`). A replica has room while that count is below ``pull_depth`` (the talk's
  BATCH + PREFETCH; 0 = the replica's batch limit + ``prefetch``) and its KV cache (counting what
  was just sent to it) is below ``kv_limit``. With no room anywhere the request stays in the
  central queue (``choose`` returns None); each completion frees a slot, and the router offers the
  queue head again at once. Work never queues behind a long request at a busy replica.
* **Short first.** The central queue is ordered by predicted output length, with aging so long
  requests are not starved: a request's key is its arrival plus ``predicted / aging_tokens_s``.
* **KV-prefix tiers.** Among replicas with room, those holding more of the request's prompt
  blocks (contiguous from the start, from the replicas' caches when they tell, else the router's
  own index) form a higher tier: a tier is ``tiers`` equal slices of the match rate. Inside the
  best tier, the least outstanding tokens wins — so the cache decides only when it saves real
  prefill, and load decides among equals.
* **Stale signals.** Its own dispatches since the snapshot are added back (:class:`SinceSnapshot`),
  so a stale "idle" replica is not flooded before the next refresh.

Knobs are options (:class:`LlmLaConfig`): ``--set llm_la.pull_depth=48`` or a ``--policy-config``
YAML file with an ``llm_la:`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.policies.base import POLICIES, Policy, SinceSnapshot
from llm_la_lab.scorers import ApproxIndex, prefix_scores


@dataclass
class LlmLaConfig:
    kv_limit: float = option(0.9, "a replica has room only while its KV use (plus what was just sent to it) "
                                  "stays below this fraction of the cache, in (0, 1]")
    aging_tokens_s: float = option(50.0, "short-first strength: queue key = arrival + predicted output tokens / "
                                         "this (small = strongly short-first, large = FIFO central queue)")
    pull_depth: int = option(0, "most requests outstanding per replica (BATCH + PREFETCH); "
                                "0 = the replica's batch limit + prefetch")
    prefetch: int = option(4, "requests pulled beyond the batch limit when pull_depth is 0")
    tiers: int = option(4, "KV-prefix tiers: the match rate is cut into this many slices (1 = ignore the cache)")

    def __post_init__(self) -> None:
        if not 0 < self.kv_limit <= 1:
            raise ValueError(f"kv_limit must be in (0, 1], got {self.kv_limit}")
        if not self.aging_tokens_s > 0:
            raise ValueError(f"aging_tokens_s must be positive, got {self.aging_tokens_s}")
        if self.pull_depth < 0 or self.prefetch < 0 or self.tiers < 1:
            raise ValueError("pull_depth and prefetch must be ≥ 0 and tiers ≥ 1")


@POLICIES.register("llm_la", default=True)
class LlmLa(Policy):
    Config = LlmLaConfig

    def __init__(self, seed: int = 0, config: LlmLaConfig | None = None):
        super().__init__(seed, config)
        self.sent = SinceSnapshot()
        self.index = ApproxIndex()
        self.outstanding: dict[int, int] = {}  # replica -> requests sent, not yet back (exact)
        self.kv_limit = self.config.kv_limit
        self.aging_tokens_s = self.config.aging_tokens_s

    def order(self, request):
        return request.arrival + request.predicted / self.aging_tokens_s

    def completed(self, request, replica):
        self.outstanding[replica] -= 1

    def depth(self, signal) -> int:
        return self.config.pull_depth or signal.capacity + self.config.prefetch

    def choose(self, request, loads):
        room = []
        for signal in loads:
            _, extra_tokens = self.sent.extra(signal)
            if (self.outstanding.get(signal.replica, 0) < self.depth(signal)
                    and signal.kv_util + extra_tokens / signal.kv_tokens < self.kv_limit):
                room.append((signal, signal.outstanding_tokens + extra_tokens))
        if not room:
            return None
        tiers = self.config.tiers
        if tiers > 1 and request.full_keys:
            caches = [s.prefix_cache if s.prefix_cache is not None else self.index.cache(s.replica) for s, _ in room]
            levels = [min(int(rate * tiers), tiers - 1) for rate in prefix_scores(request, caches)]
        else:
            levels = [0] * len(room)
        top = max(levels)
        best, _ = min(((s, tokens) for (s, tokens), level in zip(room, levels) if level == top), key=lambda x: x[1])
        self.sent.record(best, request.prompt + request.predicted)
        self.index.record(best, request)
        self.outstanding[best.replica] = self.outstanding.get(best.replica, 0) + 1
        return best.replica
