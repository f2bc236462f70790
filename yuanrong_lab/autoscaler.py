"""Concurrency-target autoscaling with scale-up/scale-down windows and a burst mode (pure).

openYuanrong's function service (like Knative) sizes a function by in-flight requests: with a
per-instance target concurrency `c`, demand `d` wants ceil(d / c) instances. To avoid flapping it
acts only on demand that *lasted*: scale up when the wanted count stayed above the current one for
the whole scale-up window (openYuanrong default 1 s, never below 0.5 s), scale down when it stayed
below for the whole scale-down window (default 60 s), possibly to zero. Burst mode (Knative's
"panic" mode) skips the up window when demand jumps to `burst_factor` times the current count.

The runtime calls :meth:`Autoscaler.decide` with the time and the demand it sees; the simulation
calls the same method with simulated time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError


@dataclass
class AutoscalerConfig:
    target_concurrency: float = option(1.0, "in-flight calls one instance should carry")
    scale_up_window_s: float = option(1.0, "demand must stay high this long before scaling up (openYuanrong: 1 s)")
    scale_down_window_s: float = option(60.0, "demand must stay low this long before scaling down (openYuanrong: 60 s)")
    burst: bool = option(False, "burst mode: scale up at once when demand jumps")
    burst_factor: float = option(2.0, "burst mode triggers when wanted >= factor x current instances")
    min_instances: int = option(0, "never fewer instances (0: scale to zero)")
    max_instances: int = option(8, "never more instances")

    def __post_init__(self) -> None:
        if self.target_concurrency <= 0:
            raise UserError(f"autoscaler target_concurrency must be positive, got {self.target_concurrency}")
        if self.scale_up_window_s < 0.5:
            raise UserError(
                f"autoscaler scale_up_window_s must be >= 0.5 s (openYuanrong's floor), got {self.scale_up_window_s}"
            )
        if self.scale_down_window_s < 0 or self.burst_factor <= 1:
            raise UserError("autoscaler scale_down_window_s must be >= 0 and burst_factor > 1")
        if not 0 <= self.min_instances <= self.max_instances:
            raise UserError(
                f"autoscaler needs 0 <= min_instances <= max_instances, got {self.min_instances}, {self.max_instances}"
            )


class Autoscaler:
    def __init__(self, config: AutoscalerConfig):
        self.config = config
        # (time, wanted instances) at each *change* of the wanted count, oldest first: the count in
        # force at any moment is the last change before it, so equal samples add nothing — and a
        # gateway deciding on every call at 1,000 calls/s keeps a handful of entries, not 60,000
        self.history: deque[tuple[float, int]] = deque()

    def wanted(self, demand: float) -> int:
        return math.ceil(max(demand, 0.0) / self.config.target_concurrency)

    def decide(self, now: float, demand: float, current: int) -> int:
        """Record `demand` (in-flight + queued calls) at `now`; return the instance count to have.

        ``self.history`` holds the change points of the wanted count (see ``__init__``); use
        :meth:`_over` for the min (scale-up) or max (scale-down) wanted count over a window."""
        cfg = self.config
        wanted = self.wanted(demand)
        if not self.history or self.history[-1][1] != wanted:
            self.history.append((now, wanted))
        # BEGIN SOLUTION task3_3
        horizon = now - max(cfg.scale_up_window_s, cfg.scale_down_window_s)
        # keep one sample older than the horizon: it says what the demand was when the window opened
        while len(self.history) > 1 and self.history[1][0] <= horizon:
            self.history.popleft()
        clamp = lambda n: max(cfg.min_instances, min(cfg.max_instances, n))  # noqa: E731
        if cfg.burst and wanted > current and wanted >= cfg.burst_factor * max(current, 1):
            return clamp(wanted)
        sustained_up = self._over(now - cfg.scale_up_window_s, min)
        if sustained_up is not None and sustained_up > current:
            return clamp(sustained_up)
        sustained_down = self._over(now - cfg.scale_down_window_s, max)
        if sustained_down is not None and sustained_down < current:
            return clamp(sustained_down)
        return clamp(current)
        # END SOLUTION

    def _over(self, since: float, reduce) -> int | None:
        """min/max of the wanted counts in force during [since, now]; None if history is shorter."""
        if not self.history or self.history[0][0] > since:
            return None
        values = [w for t, w in self.history if t > since]
        in_force_at_start = [w for t, w in self.history if t <= since][-1]
        return reduce([in_force_at_start, *values])
