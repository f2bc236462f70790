"""The keep-alive extension point: one abstract method, a per-policy ``Config``, a registry.

The shape follows "Serverless in the Wild" (Shahrad et al., ATC'20): after an invocation a
policy gives a *pre-warm window* (unload the instance now and load it again that much later; 0
keeps it loaded) and a *keep-alive window* (how long the loaded instance then waits for the next
call before it is reclaimed). A fixed TTL (OpenWhisk, AWS Lambda: about 10 minutes) is pre-warm
0 and keep-alive TTL; "none" reclaims at once.

A policy is one file in this package (or a ``--plugin FILE``)::

    @POLICIES.register("my-policy", default=True)     # default: part of `sysai yuanrong keepalive`'s sweep
    class MyPolicy(KeepAlivePolicy):
        @dataclass
        class Config:                                  # its options (None: no options)
            idle_s: float = option(300.0, "...")

        def on_invocation(self, now): return Windows(0.0, self.config.idle_s)

A function names its policy as ``{"policy": "my-policy", "options": {"idle_s": 60}}``
(:class:`KeepAliveConfig`); :func:`make_policy` builds it with ``POLICIES.create``. A policy may
offer ``sweep()``: the labelled option sets the simulation compares (the Pareto front).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from sysai.config import option
from sysai.registry import Registry


@dataclass(frozen=True)
class Windows:
    """What to do with a function's instance once the current invocation ends (seconds)."""

    prewarm_s: float
    keepalive_s: float


class KeepAlivePolicy(ABC):
    """One instance per function; it may keep per-function state (e.g. a histogram)."""

    Config: ClassVar[type | None] = None

    def __init__(self, *, seed: int = 0, config: Any = None):
        self.seed = seed
        self.config = config if config is not None or self.Config is None else self.Config()

    @abstractmethod
    def on_invocation(self, now: float) -> Windows:
        """Record an invocation arriving at `now` (seconds); return the windows to apply after it."""

    @classmethod
    def sweep(cls) -> list[tuple[str, dict[str, Any]]]:
        """(label, options) variants for the keep-alive comparison; by default the defaults alone."""
        return [("", {})]


POLICIES: Registry[type[KeepAlivePolicy]] = Registry("keep-alive policy", package="yuanrong_lab.keepalive")


@dataclass
class KeepAliveConfig:
    policy: str = option("fixed", "keep-alive policy (`sysai plugins yuanrong` lists them)")
    options: dict = option({}, 'the policy\'s own options (its Config), e.g. {"ttl_s": 600}')

    def __post_init__(self) -> None:
        POLICIES.make_config(self.policy, self.options)  # an unknown policy or option fails here, early


def make_policy(config: KeepAliveConfig, seed: int = 0) -> KeepAlivePolicy:
    return POLICIES.create(config.policy, seed=seed, options=config.options)
