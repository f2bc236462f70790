"""Code exception (a bad release): a fraction of the root's requests throw; the errors bubble up
to every caller on the path, which log "upstream call failed" — the entry sees the most errors."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("code_exception", default=True)
class CodeException(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(
            error_add=0.12 * severity,
            self_factor=0.9,
            logs=[("ERROR", "NullPointerException in {svc}.handle(Order.java:{n})")],
        )
