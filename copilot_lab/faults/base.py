"""What a fault does to the service it is injected into: an :class:`Effect`.

A fault type is one class with one method, :meth:`Fault.effect`, that turns a severity (around 1)
into the *local* signature at the root service and its host. The simulator
(:mod:`copilot_lab.world`) applies it and lets it **propagate**: a caller's latency includes
its callees' (and the network between them), errors bubble up to callers, co-located services
share CPU and disk. So the root is rarely the loudest node — exactly what makes RCA hard.

Adding a fault type is one file in this package::

    @FAULTS.register("thread_leak", default=True)  # default: part of every evaluation
    class ThreadLeak(Fault):
        def effect(self, severity):
            return Effect(self_factor=1 + severity, ramp=True, logs=[("WARN", "thread pool {n} busy")])
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from sysai.registry import Registry


@dataclass(frozen=True)
class Effect:
    """The local signature of a fault at its root (all additive unless named a factor)."""

    self_factor: float = 1.0  # multiplies the root's own processing time
    self_add_ms: float = 0.0  # added to the root's own processing time
    cpu_add: float = 0.0  # root container CPU, percent points
    mem_add_mb: float = 0.0  # root resident memory
    disk_add: float = 0.0  # root disk I/O, MB/s
    net_add: float = 0.0  # retransmissions/s on the root's interface
    error_add: float = 0.0  # root's own error rate (fraction of its requests)
    edge_delay_ms: float = 0.0  # one-way delay on every connection into and out of the root
    edge_loss: float = 0.0  # packet-loss probability on the root's connections
    neighbour_cpu_add: float = 0.0  # noisy neighbours: co-located services
    neighbour_self_factor: float = 1.0
    neighbour_disk_add: float = 0.0
    ramp: bool = False  # grows linearly from the onset to full strength (leaks), else a step
    logs: list[tuple[str, str]] = field(default_factory=list)  # (level, template) emitted by the root


class Fault(abc.ABC):
    """A fault type: its signature at the root, for a given severity (≈0.5–1.5)."""

    Config = None  # a plugin with options sets a dataclass here (built by FAULTS.create)

    def __init__(self, *, seed: int = 0, config=None):
        self.seed, self.config = seed, config

    @abc.abstractmethod
    def effect(self, severity: float) -> Effect: ...


FAULTS: Registry[type[Fault]] = Registry("fault type", package="copilot_lab.faults")
