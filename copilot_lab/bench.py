"""`sysai copilot bench`: the lab's agents, the coordinator, RCAEval's BARO and n-sigma and the
SLI-correlation baseline, side by side in one process, on the lab's own cases and on foreign ones.

Case sources (both from the **eval** seed streams; every constant was tuned on **dev**):

* **own**: the lab's simulator (both shipped systems), written to disk in the RCAEval layout
  with logs, traces and the system spec, then read back like any user's files;
* **foreign**: PyRCA's simulator (:mod:`copilot_lab.foreign`) — level shift, variance change
  and dependency-weight faults on random graphs of several sizes — scored with the plain call
  graph and again without it.

Every method sees the same files; ms per case is measured in-process around each method's
call (no interpreter start-up), on whatever machine runs it — read the ratios.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from copilot_lab.foreign import ForeignConfig, write_foreign_cases
from sysai.config import option
from sysai.timing import Timer

AIM = {"ac1_graph": 0.9, "avg5_graph": 0.95, "ms_per_case": 50.0}


@dataclass
class BenchConfig:
    own_cases: int = option(140, "own-world cases (alternating shop and platform)")
    foreign_cases: int = option(150, "PyRCA cases (fault types round-robin, sizes cycling)")
    sizes: list = option([10, 20, 40], "PyRCA graph sizes")


QUICK = BenchConfig(own_cases=14, foreign_cases=15, sizes=[10, 20])


@dataclass
class BenchResults:
    seed: int
    split: str
    cases: dict[str, int]
    sources: dict[str, dict]  # source -> method -> ac1, ac3, ac5, avg5, ms_per_case
    per_fault: dict[str, dict]  # source -> fault -> method -> ac1, avg5
    aims: dict[str, dict]  # checks of the aims on the foreign cases
    ms_generate: dict[str, float]
    notes: list[str] = field(default_factory=list)


def write_own_cases(out: Path, n: int, seed: int, split: str) -> None:
    from copilot_lab.cases import make_case
    from copilot_lab.evaluate import systems_for
    from copilot_lab.rcaeval_io import write_case

    systems = systems_for("both")
    for k in range(n):
        system = systems[k % len(systems)]
        case, telemetry = make_case(system, seed, split, k)
        write_case(
            out / f"case{k:04d}",
            telemetry,
            system,
            {"root": case.root, "fault": case.fault, "onset_time": case.onset_time, "system": system.name},
        )


def run_bench(config: BenchConfig, seed: int, split: str = "eval") -> BenchResults:
    from copilot_lab.folder import evaluate_folder

    sources, per_fault, cases, gen = {}, {}, {}, {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        own, foreign = Path(tmp) / "own", Path(tmp) / "foreign"
        with Timer() as t:
            write_own_cases(own, config.own_cases, seed, split)
        gen["own"] = t.elapsed_ms / max(config.own_cases, 1)
        with Timer() as t:
            write_foreign_cases(foreign, config.foreign_cases, seed, split, ForeignConfig(sizes=list(config.sizes)))
        gen["foreign"] = t.elapsed_ms / max(config.foreign_cases, 1)
        for name, folder, graph in (
            ("own", own, True),
            ("foreign_graph", foreign, True),
            ("foreign_no_graph", foreign, False),
        ):
            r = evaluate_folder(folder, use_graph=graph)
            sources[name], per_fault[name], cases[name] = r.methods, r.per_fault, r.cases
            notes += [f"{name}: {n}" for n in r.notes if "no input" in n]
    fg, fn = sources["foreign_graph"], sources["foreign_no_graph"]
    best = max(fg["baro"]["ac1"], fg["nsigma"]["ac1"])
    aims = {
        "graph_ac1": {
            "value": fg["multi_agent"]["ac1"],
            "aim": AIM["ac1_graph"],
            "met": fg["multi_agent"]["ac1"] >= AIM["ac1_graph"],
        },
        "graph_avg5": {
            "value": fg["multi_agent"]["avg5"],
            "aim": AIM["avg5_graph"],
            "met": fg["multi_agent"]["avg5"] >= AIM["avg5_graph"],
        },
        "graph_beats_baselines": {
            "value": fg["multi_agent"]["ac1"],
            "aim": best,
            "met": fg["multi_agent"]["ac1"] > best,
        },
        "no_graph_vs_baro": {
            "value": fn["multi_agent"]["ac1"],
            "aim": fn["baro"]["ac1"],
            "met": fn["multi_agent"]["ac1"] >= fn["baro"]["ac1"],
        },
        "ms_per_case": {
            "value": fg["multi_agent"]["ms_per_case"],
            "aim": AIM["ms_per_case"],
            "met": fg["multi_agent"]["ms_per_case"] < AIM["ms_per_case"],
        },
    }
    return BenchResults(seed, split, cases, sources, per_fault, aims, gen, sorted(set(notes)))
