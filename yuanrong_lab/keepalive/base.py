"""The keep-alive extension point: one abstract method, a config, a registry.

The shape follows "Serverless in the Wild" (Shahrad et al., ATC'20): after an invocation a
policy gives a *pre-warm window* (unload the instance now and load it again that much later; 0
keeps it loaded) and a *keep-alive window* (how long the loaded instance then waits for the next
call before it is reclaimed). A fixed TTL (OpenWhisk, AWS Lambda: about 10 minutes) is pre-warm
0 and keep-alive TTL; "none" reclaims at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError
from sysai.registry import Registry


@dataclass(frozen=True)
class Windows:
    """What to do with a function's instance once the current invocation ends (seconds)."""

    prewarm_s: float
    keepalive_s: float


@dataclass
class KeepAliveConfig:
    policy: str = option("fixed", "keep-alive policy: none, fixed, hybrid-histogram")
    ttl_s: float = option(600.0, "fixed: idle time before reclaim (OpenWhisk/AWS ~10 min)")
    range_s: float = option(4 * 3600.0, "hybrid: idle-time histogram range (ATC'20: 4 h)")
    bin_s: float = option(60.0, "hybrid: histogram bin width (ATC'20: 1 min)")
    head_pct: float = option(5.0, "hybrid: percentile of idle times for the pre-warm window")
    tail_pct: float = option(99.0, "hybrid: percentile of idle times for the keep-alive window")
    margin: float = option(0.10, "hybrid: safety margin on both windows (ATC'20: 10 %)")
    cv_threshold: float = option(2.0, "hybrid: histogram is representative when CV of bin counts exceeds this")
    min_samples: int = option(5, "hybrid: idle times needed before the histogram is trusted")
    fallback_ttl_s: float = option(600.0, "hybrid: fixed keep-alive while the histogram is not representative")

    def __post_init__(self) -> None:
        for name in ("ttl_s", "range_s", "bin_s", "fallback_ttl_s"):
            if getattr(self, name) < 0 or (name == "bin_s" and self.bin_s == 0):
                raise UserError(f"keep-alive {name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.head_pct <= self.tail_pct <= 100:
            raise UserError(f"keep-alive percentiles must satisfy 0 <= head_pct <= tail_pct <= 100")


class KeepAlivePolicy(ABC):
    """One instance per function; it may keep per-function state (e.g. a histogram)."""

    def __init__(self, config: KeepAliveConfig):
        self.config = config

    @abstractmethod
    def on_invocation(self, now: float) -> Windows:
        """Record an invocation arriving at `now` (seconds); return the windows to apply after it."""


POLICIES: Registry[type[KeepAlivePolicy]] = Registry("keep-alive policy", package="yuanrong_lab.keepalive")


def make_policy(config: KeepAliveConfig) -> KeepAlivePolicy:
    return POLICIES.get(config.policy)(config)
