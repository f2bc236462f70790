"""Seeded fault cases, and the line between tuning and evaluation.

Case ``index`` of split ``split`` under ``seed`` draws its fault type (round-robin over the
types, so every type is equally represented), root service, severity and onset from its own
named random stream. The **dev** split is where the agents' constants were tuned; reported
numbers come from the **eval** split, whose streams the tuning never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from copilot_lab.faults.base import FAULTS
from copilot_lab.system import System
from copilot_lab.telemetry import Telemetry
from copilot_lab.world import Injection, SimConfig, simulate
from sysai.errors import UserError
from sysai.seeding import child_seed, rng

SPLITS = ("dev", "eval")


@dataclass(frozen=True)
class Case:
    system: str
    fault: str
    root: str
    root_index: int
    severity: float
    onset_time: float  # seconds (the true fault onset)
    seed: int  # the case's own seed (telemetry streams derive from it)
    split: str
    index: int
    also: tuple[int, ...] = ()  # further roots of a concurrent fault (indices)

    @property
    def roots(self) -> tuple[int, ...]:
        return (self.root_index, *self.also)


def fault_names(only: list[str] | None = None) -> list[str]:
    names = FAULTS.defaults()
    if not only:
        return names
    for name in only:
        FAULTS.get(name)  # raises a UserError naming the choices
    return list(only)


def make_case(
    system: System,
    seed: int,
    split: str,
    index: int,
    config: SimConfig | None = None,
    faults: list[str] | None = None,
    roots: int = 1,
) -> tuple[Case, Telemetry]:
    """Case `index` of `split`: its ground truth and its telemetry. With ``roots=2`` the same fault
    hits a second service at the same time (drawn after everything else, so the first root,
    severity and onset are those of the single-root case)."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} (choose from: {', '.join(SPLITS)})")
    config = config or SimConfig()
    kinds = fault_names(faults)
    fault = kinds[index % len(kinds)]
    case_seed = child_seed(seed, split, index)
    r = rng(case_seed, "case")
    root = int(r.integers(0, system.n))
    severity = float(r.uniform(0.5, 1.5))
    onset = int(r.integers(config.onset_min, config.onset_max + 1))
    effect = FAULTS.create(fault, seed=case_seed).effect(severity)
    others = [i for i in range(system.n) if i != root]
    also = tuple(int(x) for x in r.choice(others, size=roots - 1, replace=False)) if roots > 1 else ()
    where = (root, *also) if also else root
    telemetry = simulate(system, Injection(fault, where, severity, onset, effect), config, case_seed)
    case = Case(
        system.name, fault, system.names[root], root, severity, float(telemetry.time[onset]), case_seed, split, index,
        also,
    )
    return case, telemetry
