"""Foreign cases: telemetry this lab did not write, from PyRCA's simulator (PyPI ``sfr-pyrca``).

PyRCA (Salesforce, 2023) generates root-cause benchmarks from a random DAG and a structural
equation per node, ``x_i = Σ_parents A_ij f(x_j) + β_i·noise_i`` (f ∈ identity, square, sin,
tanh; noise normal, exponential, uniform or Laplace), then an anomaly phase with one of three
fault types at the root(s) (``pyrca.simulation.data_gen.AnomalyDataGen``):

* ``level_shift`` (its type 0): a constant added to the root's equation;
* ``variance_change`` (type 1): the root's noise weight grows — the mean does not move;
* ``dependency_weight`` (type 2): the weight of one incoming edge of the root changes, so the
  root reacts differently to a normal parent.

We run PyRCA's own generator and only translate its output to the RCAEval layout: node ``i``
becomes a service, its variable one metric column; a causal edge cause → effect becomes the call
effect → cause (the effect depends on the cause), so PyRCA's single sink (node 0) is the entry.
Metric suffixes are drawn from names the lab does not know, and time is in milliseconds, so
nothing the lab's own world taught it about units or names applies.

**Seeding.** PyRCA draws from ``np.random`` and from fresh unseeded ``default_rng()`` calls, so
as shipped two runs differ. :func:`seeded_pyrca` hands its module one seeded Generator for the
duration of one case (and puts numpy back after), which makes every case a function of
``(seed, split, index)`` without touching PyRCA's code or numpy's global state.

The fault strength follows PyRCA's own examples: it doubles until the SLI (node 0) is more than
``tau = 3`` normal-phase standard deviations from its normal mean on every anomalous row — an
incident someone would be paged for.

PyRCA draws 1 + Poisson(1) roots; the evaluation is single-root (RCAEval's AC@k), so a case
keeps the first draw with exactly one root (the next draws come from the same seeded stream).
"""

from __future__ import annotations

import contextlib
import io
import json
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sysai.config import option
from sysai.errors import UserError
from sysai.seeding import child_seed, rng

FAULT_TYPES = {"level_shift": 0, "variance_change": 1, "dependency_weight": 2}  # PyRCA's anomaly_type
SUFFIXES = ("value", "gauge", "level", "signal", "reading")  # PyRCA variables have no meaning: no known direction
EPOCH_MS = 1_700_000_000_000
SOURCE = "PyRCA simulator (sfr-pyrca, pyrca.simulation.data_gen), translated to the RCAEval layout"


@dataclass
class ForeignConfig:
    sizes: list = option([10, 20, 40], "graph sizes (services); cases cycle through them")
    edge_factor: float = option(1.5, "edges per node of PyRCA's random DAG")
    normal_rows: int = option(60, "rows before the fault (one per minute)")
    anomaly_rows: int = option(30, "rows from the fault on")
    step_ms: int = option(60_000, "time between rows, in the file's unit (ms)")
    tau: float = option(
        3.0, "PyRCA's visibility rule: the fault grows until the SLI (node 0) is tau·σ off on every row"
    )


def data_gen():
    """PyRCA's generator module (a UserError naming the fix when it is not installed)."""
    try:
        from pyrca.simulation import data_gen as module
    except ImportError:
        raise UserError(
            "foreign cases need PyRCA's simulator: pip install --no-deps sfr-pyrca "
            "(its other dependencies are not needed for the simulator)"
        ) from None
    return module


class _SeededRandom:
    """What PyRCA's module sees as ``np.random``: every draw from one seeded Generator."""

    def __init__(self, generator: np.random.Generator):
        self._g = generator

    def default_rng(self, seed=None):
        return self._g

    def __getattr__(self, name):
        if name in ("normal", "exponential", "uniform", "laplace", "choice", "poisson", "standard_normal"):
            return getattr(self._g, name)
        return getattr(np.random, name)


class _SeededNumpy(types.SimpleNamespace):
    def __init__(self, generator: np.random.Generator):
        super().__init__(random=_SeededRandom(generator))

    def __getattr__(self, name):
        return getattr(np, name)


@contextlib.contextmanager
def seeded_pyrca(generator: np.random.Generator):
    module = data_gen()
    saved = module.np
    module.np = _SeededNumpy(generator)
    try:
        # it prints the fault strengths when it gives up on a draw; keep stdout for --json
        with contextlib.redirect_stdout(io.StringIO()):
            yield module
    finally:
        module.np = saved


@dataclass
class ForeignCase:
    fault: str
    size: int
    root: int
    data: np.ndarray  # (normal_rows + anomaly_rows, size)
    dag: np.ndarray  # [cause, effect]
    suffixes: list[str]
    index: int
    seed: int

    @property
    def names(self) -> list[str]:
        return ["frontend" if i == 0 else f"svc{i:02d}" for i in range(self.size)]


def make_foreign_case(
    seed: int, split: str, index: int, config: ForeignConfig | None = None, faults: list[str] | None = None
) -> ForeignCase:
    """Case `index` of `split`: fault types round-robin, sizes cycling, everything else PyRCA's."""
    config = config or ForeignConfig()
    kinds = list(faults or FAULT_TYPES)
    fault = kinds[index % len(kinds)]
    size = int(config.sizes[(index // len(kinds)) % len(config.sizes)])
    case_seed = child_seed(seed, "foreign", split, index)
    g = rng(case_seed, "pyrca")
    with seeded_pyrca(g) as dg, np.errstate(all="ignore"):
        for _ in range(100):
            drawn = _draw(dg, g, size, fault, config)
            if drawn is not None:
                break
        else:  # pragma: no cover
            raise RuntimeError(f"PyRCA gave no usable single-root draw for foreign case {index}")
    data, dag, root = drawn
    suffixes = [SUFFIXES[int(k)] for k in rng(case_seed, "names").integers(0, len(SUFFIXES), size)]
    return ForeignCase(fault, size, root, data, dag, suffixes, index, case_seed)


def _draw(dg, g, size: int, fault: str, config: ForeignConfig):
    """One attempt: PyRCA's DAG, normal phase and anomaly phase, or None when the draw is unusable
    — numbers that overflow (``square`` chained through a deep graph), a fault PyRCA itself
    cannot make visible (it then raises a string), or more than one root."""
    dag = dg.DAGGen(dg.DAGGenConfig(num_node=size, num_edge=int(config.edge_factor * size), rng=g)).gen()
    normal, parent_w, noise_w, func, noise = dg.DataGen(dg.DataGenConfig(dag=dag, num_samples=config.normal_rows)).gen()
    if not np.isfinite(normal).all() or np.abs(normal).max() > 1e6:
        return None
    try:
        anomal, fault_m = dg.AnomalyDataGen(
            dg.AnomalyDataGenConfig(
                parent_weights=parent_w,
                noise_weights=noise_w,
                noise_type=noise,
                func_type=func,
                baseline=float(normal[:, 0].mean()),
                threshold=config.tau * float(normal[:, 0].std()),
                num_samples=config.anomaly_rows,
                anomaly_type=FAULT_TYPES[fault],
            )
        ).gen()
    except (ValueError, TypeError):  # more roots than candidates; "can not trigger anomalies"
        return None
    roots = np.flatnonzero(fault_m) if fault_m.ndim == 1 else np.flatnonzero(fault_m.any(axis=0))
    if len(roots) != 1 or not np.isfinite(anomal).all() or np.abs(anomal).max() > 1e6:
        return None
    return np.vstack([normal, anomal]), dag, int(roots[0])


def write_foreign_case(case: ForeignCase, out: Path, config: ForeignConfig | None = None) -> Path:
    """One case folder in the RCAEval layout: metrics.csv, graph.json, inject_time.txt, case.json."""
    config = config or ForeignConfig()
    out.mkdir(parents=True, exist_ok=True)
    names = case.names
    time = EPOCH_MS + np.arange(len(case.data)) * config.step_ms
    header = ",".join(["time"] + [f"{n}_{s}" for n, s in zip(names, case.suffixes)])
    rows = [",".join([str(int(t))] + [f"{v:.6g}" for v in row]) for t, row in zip(time, case.data)]
    (out / "metrics.csv").write_text("\n".join([header] + rows) + "\n")
    calls = [[names[e], names[c]] for c, e in zip(*np.nonzero(case.dag))]  # the effect calls its cause
    (out / "graph.json").write_text(json.dumps({"services": names, "calls": calls, "entry": names[0]}) + "\n")
    anomaly_time = int(time[config.normal_rows])
    (out / "inject_time.txt").write_text(f"{anomaly_time}\n")
    (out / "case.json").write_text(
        json.dumps(
            {
                "root": names[case.root],
                "fault": case.fault,
                "anomaly_time": anomaly_time,
                "services": case.size,
                "seed": case.seed,
                "index": case.index,
                "source": SOURCE,
            },
            indent=2,
        )
        + "\n"
    )
    return out


def write_foreign_cases(out: Path, n: int, seed: int, split: str, config: ForeignConfig | None = None) -> list[Path]:
    return [
        write_foreign_case(make_foreign_case(seed, split, k, config), out / f"case{k:04d}", config) for k in range(n)
    ]
