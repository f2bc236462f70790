"""Least requests (join-shortest-queue): the replica with the fewest outstanding requests.

Vidur's `lor` and vLLM's data-parallel balancer are of this kind. It counts requests, not work:
a 4,000-token prompt weighs as much as a 20-token one.
"""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy


@POLICIES.register("least_requests", default=True)
class LeastRequests(Policy):
    def choose(self, request, loads):
        # BEGIN SOLUTION task2_1
        best = loads[0]
        for signal in loads:
            if signal.requests < best.requests:
                best = signal
        return best.replica
        # END SOLUTION
