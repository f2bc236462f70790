"""Fixed keep-alive: keep an idle instance warm for a constant TTL (OpenWhisk, AWS: ~10 min).

Simple and history-free, which is its weakness: a timer function firing every 15 minutes pays a
cold start on every call with a 10-minute TTL, and idles 10 minutes after each call anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError
from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows

SWEEP_MIN = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 240)  # TTLs of the Pareto sweep (minutes)


@POLICIES.register("fixed", default=True)
class FixedKeepAlive(KeepAlivePolicy):
    @dataclass
    class Config:
        ttl_s: float = option(600.0, "idle time before the instance is reclaimed (OpenWhisk/AWS ~10 min)")

        def __post_init__(self) -> None:
            if self.ttl_s < 0:
                raise UserError(f"keep-alive ttl_s must be >= 0, got {self.ttl_s}")

    def on_invocation(self, now: float) -> Windows:
        # BEGIN SOLUTION task3_1
        return Windows(prewarm_s=0.0, keepalive_s=self.config.ttl_s)
        # END SOLUTION

    @classmethod
    def sweep(cls) -> list[tuple[str, dict]]:
        return [(f"{m}min", {"ttl_s": m * 60.0}) for m in SWEEP_MIN]
