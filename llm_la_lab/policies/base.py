"""The routing-policy extension point, shared by the SimPy router and the live proxy.

A policy gets one request and the current (possibly stale) :class:`~llm_la_lab.load.LoadSignal`
of every eligible replica, and returns the chosen replica's id — or ``None`` to keep the request
in the router's central queue until the signals change (a *pull* policy: replicas take work when
they have room). :meth:`Policy.order` sets the central queue's order (FIFO by arrival unless a
policy overrides it). The same object drives the simulator and the proxy, so a policy knows only
what a real router knows: signals, the request's prompt length and its *predicted* output length.

A policy with tuning knobs declares them as a dataclass ``Config`` of :func:`sysai.config.option`
fields (with help text); :func:`make_policy` builds it from a mapping — ``--set NAME.KEY=VALUE``
on the command line or a ``--policy-config`` YAML file — and rejects unknown keys and bad values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import yaml

from sysai.config import parse_assignment, scalar
from sysai.errors import UserError
from sysai.registry import Registry
from sysai.seeding import py_random

from llm_la_lab.load import LoadSignal
from llm_la_lab.request import Request


class Policy(ABC):
    """Choose a replica for a request from the replicas' load signals."""

    #: A dataclass of tuning knobs (``sysai.config.option`` fields), or None for a policy without any.
    Config: ClassVar[type | None] = None

    def __init__(self, seed: int = 0, config: Any = None):
        self.rng = py_random(seed, "policy", type(self).__name__)
        self.config = config if config is not None or self.Config is None else self.Config()

    def order(self, request: Request) -> float:
        """Sort key of the router's central queue (smaller first); FIFO by default."""
        return request.arrival

    @abstractmethod
    def choose(self, request: Request, loads: Sequence[LoadSignal]) -> int | None:
        """The `replica` id of one of `loads`, or None to hold the request in the central queue."""

    def completed(self, request: Request, replica: int) -> None:
        """`request`, routed to `replica`, finished or was rejected there (the router sees every reply)."""


POLICIES: Registry[type[Policy]] = Registry("routing policy", package="llm_la_lab.policies")


def make_policy(name: str, seed: int = 0, options: Mapping[str, Any] | None = None) -> Policy:
    """The policy registered as `name`, its ``Config`` built from `options` (checked, with messages)."""
    return POLICIES.create(name, seed=seed, options=options)


def policy_options(assignments: Sequence[str] = (), path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Per-policy options from a YAML file (``{policy: {key: value}}``) and ``policy.key=value``
    assignments (which win); every named policy and key is checked now, not mid-experiment."""
    options: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}  # policy -> where its options were given, for error messages
    if path is not None:
        try:
            text = Path(path).read_text()
            data = yaml.safe_load(text)
        except FileNotFoundError:
            raise UserError(f"policy config file not found: {path}") from None
        except yaml.YAMLError:
            raise UserError(f"{path}: not valid YAML") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise UserError(f"{path}: expected a mapping of policy names to mappings of options")
        options = {str(name): {key: scalar(v) if isinstance(v, str) else v for key, v in values.items()}
                   for name, values in data.items()}
        lines = text.splitlines()
        for name in options:
            line = next((i for i, t in enumerate(lines, 1) if t.split(":", 1)[0].strip().strip("'\"") == name), 1)
            where[name] = f"{path}:{line}"
    for text in assignments:
        name, key, value = parse_assignment(text, "POLICY.KEY=VALUE", "llm_la.aging_tokens_s=100")
        options.setdefault(name, {})[key] = value
        where[name] = f"--set {text}"
    for name, values in options.items():
        try:
            make_policy(name, 0, values)
        except UserError as exc:
            raise UserError(f"{where[name]}: {exc}") from None
    return options


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
