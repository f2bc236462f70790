"""Round-robin: replicas in turn, blind to load (the baseline of the talk and of most routers)."""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy


@POLICIES.register("round_robin", default=True)
class RoundRobin(Policy):
    def __init__(self, seed: int = 0, config=None):
        super().__init__(seed, config)
        self.next = 0

    def choose(self, request, loads):
        signal = loads[self.next % len(loads)]
        self.next += 1
        return signal.replica
