"""The service system: services on hosts, and who calls whom (with what probability).

A system is a YAML file (see ``copilot_lab/systems/*.yaml``)::

    name: shop
    entry: frontend           # where user requests arrive
    base_rps: 200             # requests per second at the entry
    services:
      - {name: frontend, host: node-1, self_ms: 6, calls: {cart: 0.6, catalog: 1.0}}
      - {name: cart, host: node-2, self_ms: 3, calls: {redis: 1.0}}

``calls`` maps a callee to the probability that one request to the caller calls it (sequentially).
The graph must be acyclic and reachable from the entry. :class:`System` turns the spec into
index arrays for the simulator; :attr:`System.graph` is the part the agents may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from copilot_lab.graph import Graph
from sysai.config import from_mapping, load_yaml, option
from sysai.errors import UserError

SHIPPED = ("shop", "platform")


@dataclass
class ServiceSpec:
    name: str = option("", "service name (unique)")
    host: str = option("node-1", "host the service runs on (co-located services share CPU and disk)")
    self_ms: float = option(5.0, "own processing time per request at nominal load, ms")
    cpu: float = option(20.0, "CPU use at nominal load, percent of its limit")
    mem_mb: float = option(300.0, "resident memory, MB")
    calls: dict = option({}, "callee name -> probability that a request calls it")


@dataclass
class SystemSpec:
    name: str = option("custom", "system name")
    entry: str = option("", "the service user requests arrive at")
    base_rps: float = option(200.0, "requests per second at the entry at nominal load")
    services: list[ServiceSpec] = option([], "the services")


@dataclass
class System:
    """A validated system with index arrays (service i is ``names[i]``)."""

    spec: SystemSpec
    names: list[str] = field(init=False)
    index: dict[str, int] = field(init=False)
    call_prob: np.ndarray = field(init=False)  # [caller, callee] probability of a call

    def __post_init__(self) -> None:
        self.names = [s.name for s in self.spec.services]
        self.index = {n: i for i, n in enumerate(self.names)}
        n = len(self.names)
        self.call_prob = np.zeros((n, n))
        for s in self.spec.services:
            for callee, p in s.calls.items():
                self.call_prob[self.index[s.name], self.index[callee]] = float(p)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def entry(self) -> int:
        return self.index[self.spec.entry]

    @cached_property
    def graph(self) -> Graph:
        """What the agents may know about the system: call edges and co-location, no parameters."""
        hosts = np.array(sorted({s.host for s in self.spec.services}))
        host = np.searchsorted(hosts, [s.host for s in self.spec.services])
        colocated = (host[:, None] == host[None, :]) & ~np.eye(self.n, dtype=bool)
        return Graph(list(self.names), self.call_prob > 0, colocated, self.entry)

    @cached_property
    def order(self) -> list[int]:
        """Topological order, callers before callees."""
        return self.graph.order

    @cached_property
    def visits(self) -> np.ndarray:
        """Expected calls reaching each service per entry request."""
        v = np.zeros(self.n)
        v[self.entry] = 1.0
        for i in self.order:
            v += v[i] * self.call_prob[i]
        return v


def validate(spec: SystemSpec, where: str) -> System:
    names = [s.name for s in spec.services]
    if len(names) < 2:
        raise UserError(f"{where}: a system needs at least 2 services")
    if len(set(names)) != len(names) or "" in names:
        raise UserError(f"{where}: service names must be unique and non-empty")
    if spec.entry not in names:
        raise UserError(f"{where}: entry {spec.entry!r} is not one of the services")
    for s in spec.services:
        for callee, p in s.calls.items():
            if callee not in names:
                raise UserError(f"{where}: service {s.name!r} calls unknown service {callee!r}")
            if not isinstance(p, (int, float)) or not 0 < float(p) <= 1:
                raise UserError(f"{where}: call probability {s.name}->{callee} must be in (0, 1], got {p!r}")
        if s.self_ms <= 0:
            raise UserError(f"{where}: service {s.name!r} needs self_ms > 0")
    system = System(spec)
    if len(system.order) != system.n:
        raise UserError(f"{where}: the call graph has a cycle")
    unreachable = [system.names[i] for i in np.flatnonzero(system.visits == 0)]
    if unreachable:
        raise UserError(f"{where}: not reachable from the entry: {', '.join(unreachable)}")
    return system


def load_system(name_or_path: str | Path) -> System:
    """A shipped system by name (``shop``, ``platform``) or a YAML file."""
    text = str(name_or_path)
    if text in SHIPPED:
        with resources.as_file(resources.files("copilot_lab") / "systems" / f"{text}.yaml") as path:
            return validate(load_yaml(SystemSpec, path), text)
    path = Path(text)
    if not path.is_file():
        raise UserError(f"system {text!r} is neither a shipped system ({', '.join(SHIPPED)}) nor a YAML file")
    return validate(load_yaml(SystemSpec, path), str(path))


def system_from_mapping(data: dict, where: str = "system") -> System:
    return validate(from_mapping(SystemSpec, data, where), where)


def to_mapping(system: System) -> dict:
    """The YAML-ready mapping of a system (for `inject`, which writes the topology next to the data)."""
    return {
        "name": system.spec.name,
        "entry": system.spec.entry,
        "base_rps": system.spec.base_rps,
        "services": [
            {
                "name": s.name,
                "host": s.host,
                "self_ms": s.self_ms,
                "cpu": s.cpu,
                "mem_mb": s.mem_mb,
                "calls": dict(s.calls),
            }
            for s in system.spec.services
        ],
    }
