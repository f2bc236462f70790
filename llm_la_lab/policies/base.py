"""The routing-policy extension point, shared by the SimPy router and the live proxy.

A policy gets one request and the current (possibly stale) :class:`~llm_la_lab.load.LoadSignal`
of every eligible replica, and returns the chosen replica's id — or ``None`` to keep the request
in the router's central queue until the signals change (a *pull* policy: replicas take work when
they have room). :meth:`Policy.order` sets the central queue's order (FIFO by arrival unless a
policy overrides it). The same object drives the simulator and the proxy, so a policy knows only
what a real router knows: signals, the request's prompt length and its *predicted* output length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from sysai.registry import Registry
from sysai.seeding import py_random

from llm_la_lab.load import LoadSignal
from llm_la_lab.request import Request


class Policy(ABC):
    """Choose a replica for a request from the replicas' load signals."""

    def __init__(self, seed: int = 0):
        self.rng = py_random(seed, "policy", type(self).__name__)

    def order(self, request: Request) -> float:
        """Sort key of the router's central queue (smaller first); FIFO by default."""
        return request.arrival

    @abstractmethod
    def choose(self, request: Request, loads: Sequence[LoadSignal]) -> int | None:
        """The `replica` id of one of `loads`, or None to hold the request in the central queue."""


POLICIES: Registry[type[Policy]] = Registry("routing policy", package="llm_la_lab.policies")


def make_policy(name: str, seed: int = 0) -> Policy:
    return POLICIES.get(name)(seed)


class SinceSnapshot:
    """What this router sent to each replica since the snapshot it is looking at was taken.

    A stale signal does not know about the requests routed after it was measured, so a greedy
    policy keeps picking the same "least loaded" replica until the next refresh (herding). Adding
    back one's own recent dispatches is the classic fix (the router always knows what it sent).
    """

    def __init__(self) -> None:
        self._sent: dict[int, tuple[int, int, int]] = {}  # replica -> (version, requests, tokens)

    def record(self, signal: LoadSignal, tokens: int) -> None:
        """Note that one request of `tokens` (prompt + predicted output) went to `signal.replica`."""
        # BEGIN SOLUTION task2_3
        version, requests, sent_tokens = self._sent.get(signal.replica, (signal.version, 0, 0))
        if version != signal.version:
            requests, sent_tokens = 0, 0
        self._sent[signal.replica] = (signal.version, requests + 1, sent_tokens + tokens)
        # END SOLUTION

    def extra(self, signal: LoadSignal) -> tuple[int, int]:
        """(requests, tokens) sent to this replica that `signal` cannot know about yet."""
        # BEGIN SOLUTION task2_3
        version, requests, tokens = self._sent.get(signal.replica, (-1, 0, 0))
        return (requests, tokens) if version == signal.version else (0, 0)
        # END SOLUTION
