"""Network delay (tc netem on the root's interface): every connection into and out of the root
gets slower. The root's *own* processing time does not change, so its server-side latency only
rises if it calls others; its callers are the ones that look slow. RCAEval's hardest case."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("network_delay", default=True)
class NetworkDelay(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(edge_delay_ms=12 * severity)
