"""The agent interface: look at one case, say how suspicious each service is, and why.

An agent is a class with one method, :meth:`Agent.rank`, returning a :class:`Finding`: a
non-negative score per service, a one-line piece of evidence for the services it suspects, and
a *strength* in [0, 1] — how much it actually saw (an agent that found nothing unusual says so
instead of guessing, and the coordinator then listens to it less).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from copilot_lab.anomaly import CaseView
from sysai.registry import Registry


@dataclass
class Finding:
    agent: str
    scores: np.ndarray  # (S,) >= 0, higher = more likely the root
    strength: float  # [0, 1]: how much anomaly the agent saw at all
    evidence: dict[int, str] = field(default_factory=dict)  # service index -> one line
    fault_hint: dict[int, str] = field(default_factory=dict)  # service index -> what was seen there (cpu, network, ...)

    def ranking(self) -> list[int]:
        """Service indices, most suspicious first (ties by index: deterministic)."""
        return [int(i) for i in np.lexsort((np.arange(len(self.scores)), -self.scores))]

    def distribution(self) -> np.ndarray:
        """The scores as shares summing to 1 (uniform when the agent saw nothing)."""
        total = float(self.scores.sum())
        if total <= 0 or not np.isfinite(total):
            return np.full(len(self.scores), 1.0 / len(self.scores))
        return self.scores / total

    @classmethod
    def empty(cls, agent: str, n: int) -> "Finding":
        """What an agent reports when its modality is missing: nothing."""
        return cls(agent, np.zeros(n), 0.0)


class Agent(abc.ABC):
    """One diagnosis agent (a juror). Registered with ``default=True`` it sits on every jury;
    otherwise (the LLM, the hypothesis test) it joins only when asked (``--agent NAME``)."""

    Config = None  # a plugin with options sets a dataclass here (built by AGENTS.create)

    def __init__(self, *, seed: int = 0, config=None):
        self.seed, self.config = seed, config

    @abc.abstractmethod
    def rank(self, view: CaseView) -> Finding: ...


def saturate(x: float, scale: float) -> float:
    """0 for no signal, → 1 for a strong one (1 − e^(−x/scale))."""
    return float(1 - np.exp(-max(x, 0.0) / scale))


AGENTS: Registry[type[Agent]] = Registry("diagnosis agent", package="copilot_lab.agents")


def juror_names() -> list[str]:
    """Every agent registered with ``default=True`` (a new agent file joins automatically)."""
    return AGENTS.defaults()
