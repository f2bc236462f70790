"""LLM-LA as publicly described in the talk: a central queue that replicas pull from, short first.

* **Pull / join-idle-queue.** A request is routed only to a replica with room: nothing waiting
  there, fewer requests than its batch limit, KV cache (counting what was just sent to it) below
  ``kv_limit``. If no replica has room, the request stays in the router's central queue
  (``choose`` returns None) and is offered again whenever the load signals change. Work never
  queues behind a long request at a busy replica.
* **Short first.** The central queue is ordered by predicted output length, with aging so long
  requests are not starved: a request's key is its arrival plus ``predicted / aging_tokens_s``.
* **Load-aware placement.** Among replicas with room, the least outstanding tokens wins.
* **Stale signals.** Its own dispatches since the snapshot are added back (:class:`SinceSnapshot`),
  so a stale "idle" replica is not flooded before the next refresh.

Both knobs are options (:class:`LlmLaConfig`): ``--set llm_la.aging_tokens_s=100`` or a
``--policy-config`` YAML file with an ``llm_la:`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.policies.base import POLICIES, Policy, SinceSnapshot


@dataclass
class LlmLaConfig:
    kv_limit: float = option(0.9, "a replica has room only while its KV use (plus what was just sent to it) "
                                  "stays below this fraction of the cache, in (0, 1]")
    aging_tokens_s: float = option(50.0, "short-first strength: queue key = arrival + predicted output tokens / "
                                         "this (small = strongly short-first, large = FIFO central queue)")

    def __post_init__(self) -> None:
        if not 0 < self.kv_limit <= 1:
            raise ValueError(f"kv_limit must be in (0, 1], got {self.kv_limit}")
        if not self.aging_tokens_s > 0:
            raise ValueError(f"aging_tokens_s must be positive, got {self.aging_tokens_s}")


@POLICIES.register("llm_la")
class LlmLa(Policy):
    Config = LlmLaConfig

    def __init__(self, seed: int = 0, config: LlmLaConfig | None = None):
        super().__init__(seed, config)
        self.sent = SinceSnapshot()
        self.kv_limit = self.config.kv_limit
        self.aging_tokens_s = self.config.aging_tokens_s

    def order(self, request):
        return request.arrival + request.predicted / self.aging_tokens_s

    def choose(self, request, loads):
        best = None
        best_tokens = 0
        for signal in loads:
            extra_requests, extra_tokens = self.sent.extra(signal)
            if (signal.waiting > 0 or signal.requests + extra_requests >= signal.capacity
                    or signal.kv_util + extra_tokens / signal.kv_tokens >= self.kv_limit):
                continue
            tokens = signal.outstanding_tokens + extra_tokens
            if best is None or tokens < best_tokens:
                best, best_tokens = signal, tokens
        if best is None:
            return None
        self.sent.record(best, request.prompt + request.predicted)
        return best.replica
