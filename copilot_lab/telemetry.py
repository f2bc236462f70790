"""Telemetry as the agents see it: a metric cube, log lines and trace spans.

The same containers hold simulated data (:mod:`copilot_lab.world`) and files a user brings
(:mod:`copilot_lab.rcaeval_io`), so every agent runs unchanged on both. A modality that is
missing is ``None``; an agent that needs it then reports nothing instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# The metric kinds the simulator emits (an imported file may bring others).
KINDS = ("latency", "error", "throughput", "cpu", "mem", "disk", "net")


@dataclass
class Logs:
    time: np.ndarray  # (N,) seconds
    service: np.ndarray  # (N,) service index
    message: list[str]  # level first, e.g. "ERROR upstream call to cart failed: status=500"


@dataclass
class Traces:
    trace: np.ndarray  # (N,) trace id
    span: np.ndarray  # (N,) span id (unique)
    parent: np.ndarray  # (N,) parent span id, -1 for a root span
    service: np.ndarray  # (N,) service index
    start: np.ndarray  # (N,) seconds
    duration_ms: np.ndarray  # (N,) duration, including the calls made
    error: np.ndarray  # (N,) bool
    client: np.ndarray  # (N,) bool: a caller's span around one outgoing call (its child is the callee's span)


@dataclass
class Telemetry:
    names: list[str]  # services
    kinds: tuple[str, ...]  # metric kinds
    time: np.ndarray  # (T,) seconds, evenly spaced
    metrics: np.ndarray | None  # (T, S, K), NaN where a series is absent
    logs: Logs | None = None
    traces: Traces | None = None

    @property
    def step_s(self) -> float:
        return float(self.time[1] - self.time[0]) if len(self.time) > 1 else 1.0

    def without(self, modality: str) -> "Telemetry":
        """The same telemetry with one modality (``metrics``, ``logs``, ``traces``) missing."""
        return replace(self, **{modality: None})
