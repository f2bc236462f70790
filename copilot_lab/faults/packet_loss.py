"""Packet loss (tc netem loss on the root's interface): retransmissions on both ends of the
root's connections, retransmission timeouts in its callers' latency, and some calls that fail
twice and surface as errors upstream."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("packet_loss", default=True)
class PacketLoss(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(edge_loss=0.06 * severity, net_add=3 * severity)
