"""Power of two choices: the less loaded (by requests) of two random replicas.

Mitzenmacher 2001; the SGLang router's `power_of_two`. Near-JSQ balance with a fraction of the
state reads."""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy


@POLICIES.register("power_of_two", default=True)
class PowerOfTwo(Policy):
    def choose(self, request, loads):
        if len(loads) == 1:
            return loads[0].replica
        a, b = self.rng.sample(range(len(loads)), 2)
        return (loads[a] if loads[a].requests <= loads[b].requests else loads[b]).replica
