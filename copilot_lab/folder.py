"""A folder of cases in the RCAEval layout, scored in one process (``evaluate --cases DIR``).

Each case is a sub-folder (searched recursively) holding ``metrics.csv`` (or RCAEval's
``data.csv``) and optionally ``logs.csv``, ``traces.csv`` and a call graph (``graph.json``,
``graph.yaml``, ``topology.yaml`` or ``topology.json``). The truth and the anomaly time come
from ``case.json`` (``root``, ``fault``, ``anomaly_time`` or ``onset_time``), else from RCAEval's
conventions: ``inject_time.txt`` and a parent folder named ``<service>_<fault>``
(``RE1-OB/cartservice_cpu/1/``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from copilot_lab.graph import Graph
from copilot_lab.telemetry import Telemetry
from sysai.errors import UserError

METRIC_FILES = ("metrics.csv", "data.csv")
GRAPH_FILES = ("graph.json", "graph.yaml", "graph.yml", "topology.yaml", "topology.yml", "topology.json")


@dataclass
class FolderCase:
    path: Path
    telemetry: Telemetry
    graph: Graph | None
    anomaly_time: float
    root: str
    fault: str
    notes: list[str] = field(default_factory=list)

    @property
    def root_index(self) -> int:
        return self.telemetry.names.index(self.root)


def case_dirs(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--cases {folder}: not a folder (give a number of simulated cases or a folder of cases)")
    found = sorted({p.parent for name in METRIC_FILES for p in folder.rglob(name)})
    if not found:
        raise UserError(f"--cases {folder}: no case folders (none holds {' or '.join(METRIC_FILES)})")
    return found


def _truth(path: Path) -> dict:
    truth: dict = {}
    meta = path / "case.json"
    if meta.is_file():
        try:
            truth = json.loads(meta.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{meta}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if "anomaly_time" not in truth and "onset_time" in truth:
        truth["anomaly_time"] = truth["onset_time"]
    inject = path / "inject_time.txt"
    if "anomaly_time" not in truth and inject.is_file():
        text = inject.read_text().strip()
        try:
            truth["anomaly_time"] = float(text)
        except ValueError:
            raise UserError(f"{inject}:1: not a number: {text!r}") from None
    if "root" not in truth:
        for part in (path.name, path.parent.name):
            service, sep, fault = part.rpartition("_")
            if sep and service:
                truth.setdefault("root", service)
                truth.setdefault("fault", fault)
                break
    for key in ("root", "anomaly_time"):
        if key not in truth:
            raise UserError(
                f"{path}: no {key!r} (write case.json with root, fault, anomaly_time, "
                "or use RCAEval's <service>_<fault>/ folders and inject_time.txt)"
            )
    return truth


def load_case(path: Path, use_graph: bool = True) -> FolderCase:
    from copilot_lab.experiments import check_anomaly_time
    from copilot_lab.rcaeval_io import load_files

    metrics = next(path / m for m in METRIC_FILES if (path / m).is_file())
    optional = {name: path / f"{name}.csv" for name in ("logs", "traces")}
    topology = next((path / g for g in GRAPH_FILES if (path / g).is_file()), None) if use_graph else None
    truth = _truth(path)
    telemetry, graph, notes = load_files(metrics, *(p if p.is_file() else None for p in optional.values()), topology)
    if not use_graph:
        graph = None
    notes += check_anomaly_time(float(truth["anomaly_time"]), telemetry.time, metrics)
    if truth["root"] not in telemetry.names:
        raise UserError(f"{path}: the true root {truth['root']!r} is not a service of the data")
    return FolderCase(
        path, telemetry, graph, float(truth["anomaly_time"]), truth["root"], str(truth.get("fault", "unknown")), notes
    )


def metric_table(telemetry: Telemetry) -> tuple[list[str], np.ndarray]:
    """The metric cube back as RCAEval columns (`<service>_<metric>`, present series only)."""
    columns, values = [], []
    for s, name in enumerate(telemetry.names):
        for k, kind in enumerate(telemetry.kinds):
            series = telemetry.metrics[:, s, k]
            if not np.isnan(series).all():
                columns.append(f"{name}_{kind}")
                values.append(series)
    return columns, np.array(values).T


@dataclass
class FolderResults:
    folder: str
    cases: int
    with_graph: bool
    methods: dict[str, dict[str, float]]  # method -> ac1, ac3, ac5, avg5, ms_per_case
    per_fault: dict[str, dict[str, dict[str, float]]]  # fault -> method -> ac1, avg5
    faults: dict[str, int]
    notes: list[str]
    ranks: dict[str, list[int]] = field(default_factory=dict)  # method -> 0-based rank of the root per case


def score_cases(
    cases: list[FolderCase], baselines: bool = True, fusion=None, jurors: list[str] | None = None
) -> tuple[dict, dict]:
    """(ranks per method, mean ms per case per method) over `cases`: every juror alone, the
    coordinator (fusing them), the SLI-correlation baseline, and RCAEval's BARO and n-sigma on the
    same metrics."""
    from copilot_lab import baselines as base
    from copilot_lab.anomaly import CaseView
    from copilot_lab.coordinator import FusionConfig, fuse
    from copilot_lab.evaluate import agents, rank_of
    from sysai.timing import Timer

    fusion = fusion or FusionConfig()
    jurors = agents(jurors)
    ranks: dict[str, list[int]] = {}
    ms: dict[str, list[float]] = {}
    for case in cases:
        view = CaseView.over_rows(case.telemetry, case.graph, case.anomaly_time)
        root = case.root_index
        findings, spent = [], 0.0
        for agent in jurors:
            with Timer() as t:
                finding = agent.rank(view)
            findings.append(finding)
            spent += t.elapsed_ms
            ranks.setdefault(finding.agent, []).append(
                rank_of(finding.scores, root) if finding.strength > 0 else view.n
            )
            ms.setdefault(finding.agent, []).append(t.elapsed_ms)
            ms.setdefault(f"_{finding.agent}_heard", []).append(float(finding.strength > 0))
        with Timer() as t:
            pooled = fuse(findings, fusion.weights, fusion.sharpen, fusion.threshold)[0]
        ranks.setdefault("multi_agent", []).append(rank_of(pooled, root))
        ms.setdefault("multi_agent", []).append(spent + t.elapsed_ms)
        with Timer() as t:
            sli = base.sli_correlation(view)
        ranks.setdefault("sli_corr", []).append(rank_of(sli, root))
        ms.setdefault("sli_corr", []).append(t.elapsed_ms)
        if baselines:
            columns, values = metric_table(case.telemetry)
            for method in base.BASELINES:
                with Timer() as t:
                    order = base.rank_services(
                        method, case.telemetry.time, columns, values, case.anomaly_time, case.telemetry.names
                    )
                ranks.setdefault(method, []).append(order.index(root))
                ms.setdefault(method, []).append(t.elapsed_ms)
    means = {m: float(np.mean(v)) for m, v in ms.items()}
    for m in list(means):  # "_agent_heard": did the agent see anything at all (1) or never (0)
        if m.startswith("_"):
            means[m] = float(max(ms[m]))
    return ranks, means


def summarise(ranks: dict[str, list[int]], ms: dict[str, float], faults: list[str]) -> tuple[dict, dict]:
    from copilot_lab.evaluate import ac_at_k, avg_at_k

    fault_of = np.array(faults)
    table, per_fault = {}, {f: {} for f in sorted(set(faults))}
    for method, r in ranks.items():
        r = np.array(r)
        table[method] = {
            "ac1": ac_at_k(r, 1),
            "ac3": ac_at_k(r, 3),
            "ac5": ac_at_k(r, 5),
            "avg5": avg_at_k(r, 5),
            "ms_per_case": ms[method],
        }
        for f in per_fault:
            m = fault_of == f
            per_fault[f][method] = {"ac1": ac_at_k(r[m], 1), "avg5": avg_at_k(r[m], 5)}
    return table, per_fault


def evaluate_folder(
    folder: Path, use_graph: bool = True, baselines: bool = True, jurors: list[str] | None = None
) -> FolderResults:
    """Load every case of `folder` and score every method on it."""
    cases = [load_case(p, use_graph) for p in case_dirs(folder)]
    ranks, ms = score_cases(cases, baselines, jurors=jurors)
    silent = [m for m in ranks if m in ms and ms.get(f"_{m}_heard", 1.0) == 0.0]
    for m in silent:
        del ranks[m]
    faults = [c.fault for c in cases]
    table, per_fault = summarise(ranks, ms, faults)
    notes = sorted({n for c in cases for n in c.notes})
    if silent:
        notes.insert(0, f"no input for {', '.join(silent)} in any case (e.g. no logs or traces): left out of the table")
    return FolderResults(
        str(folder),
        len(cases),
        use_graph and any(c.graph is not None for c in cases),
        table,
        per_fault,
        {f: faults.count(f) for f in sorted(set(faults))},
        notes,
        ranks,
    )
