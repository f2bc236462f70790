"""Random: a uniformly random replica (SGLang router's `random`, Vidur's `random`)."""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy


@POLICIES.register("random", default=True)
class Random(Policy):
    def choose(self, request, loads):
        return loads[self.rng.randrange(len(loads))].replica
