"""Hybrid histogram keep-alive (Shahrad et al., "Serverless in the Wild", ATC'20).

Per function, keep a histogram of idle times (gaps between consecutive invocations) over a range
(4 h in 1-minute bins). When the histogram is *representative* — enough samples, most of them in
range, and concentrated (coefficient of variation of the bin counts above a threshold) — use it:

* pre-warm window = lower edge of the bin holding the 5th percentile, minus a 10 % margin:
  the instance is unloaded after the call and loaded again just before the next one is due;
* keep-alive window = upper edge of the bin holding the 99th percentile, plus 10 %, minus the
  pre-warm window: how long the re-loaded instance then waits.

Otherwise fall back to a fixed keep-alive (the paper predicts out-of-range idle times with ARIMA;
this lab falls back to the fixed TTL there too and says so in its docs). A timer function that
fires every hour gets pre-warm ~54 min and keep-alive ~13 min: warm on every call, idle ~7 min
instead of a 10-minute TTL's cold start on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sysai.config import option
from sysai.errors import UserError
from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows

SWEEP_H = (1, 2, 4, 8)  # histogram ranges of the Pareto sweep (hours)


@POLICIES.register("hybrid-histogram", default=True)
class HybridHistogram(KeepAlivePolicy):
    @dataclass
    class Config:
        range_s: float = option(4 * 3600.0, "idle-time histogram range (ATC'20: 4 h)")
        bin_s: float = option(60.0, "histogram bin width (ATC'20: 1 min)")
        head_pct: float = option(5.0, "percentile of idle times for the pre-warm window")
        tail_pct: float = option(99.0, "percentile of idle times for the keep-alive window")
        margin: float = option(0.10, "safety margin on both windows (ATC'20: 10 %)")
        cv_threshold: float = option(2.0, "the histogram is representative when the CV of its bin counts exceeds this")
        min_samples: int = option(5, "idle times needed before the histogram is trusted")
        fallback_ttl_s: float = option(600.0, "fixed keep-alive while the histogram is not representative")

        def __post_init__(self) -> None:
            for name in ("range_s", "bin_s", "fallback_ttl_s"):
                if getattr(self, name) < 0 or (name == "bin_s" and self.bin_s == 0):
                    raise UserError(f"hybrid-histogram {name} must be positive, got {getattr(self, name)}")
            if not 0 <= self.head_pct <= self.tail_pct <= 100:
                raise UserError("hybrid-histogram percentiles must satisfy 0 <= head_pct <= tail_pct <= 100")

    def __init__(self, *, seed: int = 0, config: Any = None):
        super().__init__(seed=seed, config=config)
        config = self.config
        self.bins = np.zeros(max(1, int(np.ceil(config.range_s / config.bin_s))), dtype=np.int64)
        self.out_of_range = 0
        self.in_range = 0
        self._sum_sq = 0  # running sum of squared bin counts: the CV in O(1) per call
        self.last_arrival: float | None = None

    def on_invocation(self, now: float) -> Windows:
        if self.last_arrival is not None:
            idle = max(0.0, now - self.last_arrival)
            index = int(idle // self.config.bin_s)
            if index < len(self.bins):
                count = int(self.bins[index])
                self.bins[index] = count + 1
                self.in_range += 1
                self._sum_sq += 2 * count + 1
            else:
                self.out_of_range += 1
        self.last_arrival = now
        return self.windows()

    @classmethod
    def sweep(cls) -> list[tuple[str, dict]]:
        return [(f"{h}h", {"range_s": h * 3600.0}) for h in SWEEP_H]

    @property
    def samples(self) -> int:
        return self.in_range + self.out_of_range

    def representative(self) -> bool:
        """Enough idle times, mostly in range, and concentrated enough to predict the next one."""
        if self.samples < self.config.min_samples or self.in_range <= self.out_of_range:
            return False
        n = len(self.bins)
        mean = self.in_range / n
        variance = max(0.0, self._sum_sq / n - mean * mean)
        return variance**0.5 / mean > self.config.cv_threshold

    def windows(self) -> Windows:
        """The windows the current histogram gives (the fixed fallback when not representative).

        Percentile rank rule (what Task 3.2's tests check): with ``cum[i]`` the fraction of the
        in-range idle times in bins ``0..i``, the bin holding the p-th percentile is the *first* bin
        whose ``cum[i] >= p / 100`` (``np.searchsorted(cum, p / 100, side="left")``). Then

        * pre-warm = head bin's lower edge x (1 - margin) = ``head_bin * bin_s * (1 - margin)``;
        * keep-alive = tail bin's upper edge x (1 + margin), minus the pre-warm:
          ``(tail_bin + 1) * bin_s * (1 + margin) - prewarm``.
        """
        if not self.representative():
            return Windows(prewarm_s=0.0, keepalive_s=self.config.fallback_ttl_s)
        # BEGIN SOLUTION task3_2
        cfg = self.config
        cumulative = np.cumsum(self.bins) / self.in_range
        head_bin = int(np.searchsorted(cumulative, cfg.head_pct / 100.0, side="left"))
        tail_bin = int(np.searchsorted(cumulative, cfg.tail_pct / 100.0, side="left"))
        prewarm = head_bin * cfg.bin_s * (1.0 - cfg.margin)
        keepalive = (tail_bin + 1) * cfg.bin_s * (1.0 + cfg.margin) - prewarm
        return Windows(prewarm_s=prewarm, keepalive_s=keepalive)
        # END SOLUTION
