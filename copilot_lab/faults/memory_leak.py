"""Memory leak: resident memory grows steadily; garbage-collection pauses grow with it, so the
latency signal is weak at first and the memory ramp is the tell (gala-anteater's slow-drift case)."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("memory_leak", default=True)
class MemoryLeak(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(
            mem_add_mb=900 * severity,
            self_factor=1 + 0.9 * severity,
            cpu_add=6 * severity,
            ramp=True,
            logs=[("WARN", "GC pause {ms} ms, heap usage {pct}%")],
        )
