"""No keep-alive: every instance is reclaimed as soon as it goes idle (every call is cold)."""

from __future__ import annotations

from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows


@POLICIES.register("none", default=True)
class NoKeepAlive(KeepAlivePolicy):
    def on_invocation(self, now: float) -> Windows:
        return Windows(prewarm_s=0.0, keepalive_s=0.0)
