"""Your own policy (Task 2.4): beat `least_requests` on TTFT p99 with 1-second-old signals — `sysai check 2.4`.

The bar (``--refresh 1 --load 0.95``, the conv trace): TTFT p99 at most half of
`least_requests`', mean E2E no more than 5 % above. `least_outstanding_tokens` alone does not
clear it: with a signal that is a second old it sends a whole second of arrivals to the one
replica that looked idle (herding, section 3). Ideas: weigh work (tokens), not requests; add back
what you sent since the snapshot (Task 2.3's :class:`SinceSnapshot`); a replica with requests
already waiting delays a new prompt by their prefill. Try it with
``sysai llm-la compare --policies least_requests,my_policy --load 0.95 --refresh 1``.
"""

from __future__ import annotations

from llm_la_lab.policies.base import POLICIES, Policy, SinceSnapshot

#: Tokens one waiting request is worth: its prompt must be prefilled before a new one starts.
WAITING_PENALTY_TOKENS = 2000


@POLICIES.register("my_policy")
class MyPolicy(Policy):
    def __init__(self, seed: int = 0, config=None):
        super().__init__(seed, config)
        self.sent = SinceSnapshot()

    def choose(self, request, loads):
        # BEGIN SOLUTION task2_4
        def cost(signal):
            extra_requests, extra_tokens = self.sent.extra(signal)
            return signal.outstanding_tokens + extra_tokens + WAITING_PENALTY_TOKENS * (signal.waiting + extra_requests)

        best = min(loads, key=cost)
        self.sent.record(best, request.prompt + request.predicted)
        return best.replica
        # END SOLUTION
