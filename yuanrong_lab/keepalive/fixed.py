"""Fixed keep-alive: keep an idle instance warm for a constant TTL (OpenWhisk, AWS: ~10 min).

Simple and history-free, which is its weakness: a timer function firing every 15 minutes pays a
cold start on every call with a 10-minute TTL, and idles 10 minutes after each call anyway.
"""

from __future__ import annotations

from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows


@POLICIES.register("fixed")
class FixedKeepAlive(KeepAlivePolicy):
    def on_invocation(self, now: float) -> Windows:
        # BEGIN SOLUTION task3_1
        return Windows(prewarm_s=0.0, keepalive_s=self.config.ttl_s)
        # END SOLUTION
