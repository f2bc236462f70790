"""CPU hog (stress-ng in the container): the root's CPU saturates, its own work queues, and
co-located services feel it too (noisy neighbour). No logs of its own — a log agent is blind here."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("cpu_hog", default=True)
class CpuHog(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(
            cpu_add=35 * severity,
            self_factor=1 + 1.6 * severity,
            neighbour_cpu_add=12 * severity,
            neighbour_self_factor=1 + 0.3 * severity,
        )
