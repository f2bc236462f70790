"""Configuration error (a bad config push): the root rejects a share of requests at once and
logs the offending key; callers see errors, latency barely moves."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("config_error", default=True)
class ConfigError(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(
            error_add=0.08 * severity,
            cpu_add=3 * severity,
            logs=[("ERROR", "invalid configuration key '{key}' value={n}, request rejected")],
        )
