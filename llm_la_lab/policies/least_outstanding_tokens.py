"""Least outstanding tokens: the replica with the least remaining work, counted in tokens.

A replica's work is its remaining prefill tokens plus the *predicted* remaining decode tokens of
its requests (``LoadSignal.outstanding_tokens``); the new request would add its own. Load-aware in
the talk's sense: it sees that one long request can outweigh many short ones.
"""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy


@POLICIES.register("least_outstanding_tokens", default=True)
class LeastOutstandingTokens(Policy):
    def choose(self, request, loads):
        # BEGIN SOLUTION task2_2
        best = loads[0]
        for signal in loads:
            if signal.outstanding_tokens < best.outstanding_tokens:
                best = signal
        return best.replica
        # END SOLUTION
