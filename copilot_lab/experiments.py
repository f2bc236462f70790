"""The lab's experiments behind the CLI and the tour: evaluate, robustness, inject, diagnose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from copilot_lab.agents.base import juror_names
from copilot_lab.evaluate import EvalConfig, methods, ac_at_k, avg_at_k, collect, evaluate, rank_of, systems_for
from copilot_lab.coordinator import FusionConfig, fuse
from sysai.errors import UserError
from sysai.results import finish, prepare_out, write_csv
from sysai.tables import print_table

LAB = "copilot"


def _method_rows(results) -> list[list]:
    return [[m, v["ac1"], v["ac3"], v["avg5"], v["ms_per_case"]] for m, v in results.methods.items()]


def _share(value: float | None) -> str:
    return "n/a (no such case)" if value is None else f"{value:.3f}"


def run_evaluation(out: Path, cases: int, system: str, split: str, warmup: int, threshold: float, seed: int):
    from copilot_lab import figures

    results, records, raw = evaluate(EvalConfig(cases, system, split, warmup, threshold), seed)
    # names relative to `out`, so that the same seed gives the same results.json wherever it is written
    results.figures = [
        figures.accuracy_per_fault(results.per_fault, out / "accuracy_per_fault.png").name,
        figures.learning_curve(results.memory, results.methods["multi_agent"]["ac1"], out / "memory_learning_curve.png").name,
        figures.calibration(results.calibration, out / "calibration.png").name,
    ]
    write_csv(out / "cases.csv", [
        {"index": r.case.index, "system": r.case.system, "fault": r.case.fault, "root": r.case.root,
         "severity": round(r.case.severity, 3), **{f"rank_{f.agent}": rank_of(f.scores, r.case.root_index) for f in r.findings},
         "confidence_multi_agent": round(c, 4), "multi_agent_top1": bool(ok)}
        for r, c, ok in zip(records, raw["confidence"], raw["correct"])
    ])
    return results


def run_evaluate(cases, system, split, warmup, threshold, seed, out, as_json) -> None:
    out = prepare_out(LAB, "evaluate", out)
    results = run_evaluation(out, cases, system, split, warmup, threshold, seed)

    def show() -> None:
        print_table(f"RCA on {results.cases} {split} cases ({', '.join(results.systems)}), seed {seed}",
                    ["method", "AC@1", "AC@3", "Avg@5", "ms/case"], _method_rows(results), note=results.seeds_note)
        faults = list(results.per_fault)
        print_table("AC@1 per fault type", ["method"] + faults,
                    [[m] + [results.per_fault[f][m]["ac1"] for f in faults] for m in methods()])
        c = results.calibration
        print_table("coordinator: ablation (drop one juror) and abstention", ["setting", "AC@1", "Avg@5"],
                    [["all jurors", results.methods["multi_agent"]["ac1"], results.methods["multi_agent"]["avg5"]]]
                    + [[k, v["ac1"], v["avg5"]] for k, v in results.ablation.items()],
                    note=(f"abstains on {c['abstain_rate']:.0%} of cases (confidence < {c['threshold']}); accuracy when it "
                          f"answers {_share(c['accuracy_answered'])}, when it abstains {_share(c['accuracy_abstained'])}"))

    finish(results, out, as_json, show)


def evaluation_section(out: Path, seed: int, quick: bool):
    """The tour's headline: random vs each agent vs the coordinator (with and without memory)."""
    from sysai.tour import TourSection

    cases = 70 if quick else 210
    results = run_evaluation(out, cases, "shop" if quick else "both", "eval", 30 if quick else 100, 0.7, seed)
    rows = _method_rows(results)
    best_single = max(results.methods[m]["ac1"] for m in juror_names())
    delay = results.per_fault.get("network_delay", {})
    summary = (f"{results.cases} seeded fault cases ({', '.join(results.systems)}; eval split, tuned on dev). "
               f"Best single agent AC@1 {best_single:.2f}; coordinator {results.methods['multi_agent']['ac1']:.2f}, "
               f"with memory {results.methods['multi_agent_memory']['ac1']:.2f}. "
               + (f"Network delay AC@1: metric agent {delay['metric']['ac1']:.2f} vs coordinator "
                  f"{delay['multi_agent']['ac1']:.2f}. " if delay else "")
               + "Toy accuracy: read it relative to the baselines, not as a real-world number.")
    return TourSection("EulerCopilot: root-cause analysis, AC@k by method", summary,
                       ["method", "AC@1", "AC@3", "Avg@5", "ms/case"], rows,
                       [out / f for f in results.figures],
                       {"cases": results.cases, "methods": results.methods})


@dataclass
class RobustnessResults:
    cases_per_setting: int
    systems: list[str]
    seed: int
    rows: list[dict]
    figures: list[str]


def run_robustness(cases: int, system: str, seed: int, out, as_json: bool, quick: bool) -> None:
    from copilot_lab.world import SimConfig
    from sysai.plotting import color, figure

    out = prepare_out(LAB, "robustness", out)
    systems = systems_for(system)
    fusion = FusionConfig()
    settings: list[tuple[str, str, dict]] = []
    for noise in ([1.0, 2.0] if quick else [0.5, 1.0, 2.0, 3.0]):
        settings.append(("noise", f"{noise:g}", {"sim": SimConfig(noise=noise)}))
    for drop in ("metrics", "logs", "traces"):
        settings.append(("missing modality", drop, {"drop": drop}))
    for shift in ([-60, 0, 60] if quick else [-120, -60, -30, 0, 30, 60, 120]):
        settings.append(("anomaly time shift (s)", f"{shift:+d}", {"view_shift_s": float(shift)}))
    rows = []
    for group, value, kwargs in settings:
        records = collect(systems, cases, seed, "eval", **kwargs)
        row = {"experiment": group, "setting": value}
        for name in juror_names():
            r = np.array([rank_of(f.scores, rec.case.root_index) if f.strength > 0 else rec.n
                          for rec in records for f in rec.findings if f.agent == name])
            row[name] = ac_at_k(r, 1)
        multi = np.array([rank_of(fuse(rec.findings, fusion.weights, fusion.sharpen)[0], rec.case.root_index) for rec in records])
        row["multi_agent"] = ac_at_k(multi, 1)
        row["multi_agent_avg5"] = avg_at_k(multi, 5)
        rows.append(row)
    write_csv(out / "robustness.csv", rows)
    figs = []
    for group in dict.fromkeys(r["experiment"] for r in rows):
        part = [r for r in rows if r["experiment"] == group]
        path = out / f"robustness_{group.split()[0]}.png"
        with figure(path, title=f"AC@1 vs {group}", xlabel=group, ylabel="AC@1") as ax:
            x = np.arange(len(part))
            for i, m in enumerate(juror_names() + ["multi_agent"]):
                ax.plot(x, [r[m] for r in part], marker="o", label=m, color=color(i))
            ax.set_xticks(x, [r["setting"] for r in part])
            ax.set_ylim(0, 1.05)
        figs.append(str(path))
    results = RobustnessResults(cases, [s.name for s in systems], seed, rows, figs)

    def show() -> None:
        print_table(f"robustness: AC@1, {cases} eval cases per setting", ["experiment", "setting"] + juror_names() + ["multi_agent"],
                    [[r["experiment"], r["setting"]] + [r[m] for m in juror_names() + ["multi_agent"]] for r in rows])

    finish(results, out, as_json, show)


def run_inject(fault: str, root: str | None, system_name: str, severity: float, seed: int, out, as_json: bool) -> None:
    from copilot_lab.faults.base import FAULTS
    from copilot_lab.rcaeval_io import write_case
    from copilot_lab.system import load_system
    from copilot_lab.world import Injection, SimConfig, simulate
    from sysai.seeding import rng

    if fault == "list":
        raise UserError(f"fault types: {', '.join(FAULTS.names())}")
    system = load_system(system_name)
    effect = FAULTS.create(fault, seed=seed).effect(severity)
    config = SimConfig()
    r = rng(seed, "inject")
    if root is None:
        root_index = int(r.integers(0, system.n))
    elif root in system.index:
        root_index = system.index[root]
    else:
        raise UserError(f"unknown service {root!r} in system {system.name} (services: {', '.join(system.names)})")
    onset = int(r.integers(config.onset_min, config.onset_max + 1))
    telemetry = simulate(system, Injection(fault, root_index, severity, onset, effect), config, seed)
    out = prepare_out(LAB, "inject", out)
    truth = {"system": system.name, "fault": fault, "root": system.names[root_index], "severity": severity,
             "onset_time": float(telemetry.time[onset]), "seed": seed}
    paths = write_case(out, telemetry, system, truth)
    results = {**truth, "files": {k: str(v) for k, v in paths.items()},
               "diagnose": (f"sysai copilot diagnose --metrics {paths['metrics']} --logs {paths['logs']} "
                            f"--traces {paths['traces']} --topology {paths['topology']} --anomaly-time {truth['onset_time']:.0f}")}

    def show() -> None:
        print_table("injected case", ["what", "value"], [[k, str(v)] for k, v in truth.items()])
        print(f"next: {results['diagnose']}")

    finish(results, out, as_json, show)


def folder_evaluation(folder: Path, use_graph: bool = True, jurors: list[str] | None = None):
    """Each juror (default: the default set), the coordinator, BARO and n-sigma on a folder of RCAEval-layout cases."""
    from copilot_lab.folder import evaluate_folder

    return evaluate_folder(folder, use_graph, jurors=jurors)


def check_anomaly_time(anomaly_time: float, time: np.ndarray, path: Path) -> list[str]:
    """The anomaly time must leave at least one metric row before it and one at or after it;
    with fewer than 3 baseline rows the diagnosis goes ahead with a note (a 5-minute metric
    may give 2 normal rows: lower confidence, never a refusal)."""
    def show(t: float) -> str:
        return f"{t:.3f}".rstrip("0").rstrip(".")

    if not np.isfinite(anomaly_time) or not time[0] <= anomaly_time <= time[-1]:
        raise UserError(f"--anomaly-time {show(anomaly_time)} is outside the time range of {path} "
                        f"[{show(time[0])}, {show(time[-1])}]")
    before = int(np.sum(time < anomaly_time))
    if before == 0:
        raise UserError(f"--anomaly-time {show(anomaly_time)} leaves no row of {path} before it (need a baseline)")
    if before < 3:
        return [f"only {before} metric row(s) before the anomaly time: the baseline is thin, confidence is lowered"]
    return []


def history_notes(view) -> list[str]:
    """Services whose metrics start only at or after the anomaly time (a new pod, a new
    exporter): they are ranked by what else is known of them, and said so."""
    tel = view.telemetry
    if tel.metrics is None:
        return []
    base, _ = view.windows(tel.time)
    seen = np.isfinite(tel.metrics).any(axis=2)  # (T, S)
    new = [tel.names[s] for s in range(len(tel.names)) if seen[:, s].any() and not seen[base, s].any()]
    return [f"no history before the anomaly for {', '.join(new)}: their metrics cannot be compared with a baseline"] if new else []


def run_diagnose(metrics: Path, logs: Path | None, traces: Path | None, topology: Path | None, anomaly_time: float,
                 threshold: float, llm_url: str | None, llm_model: str, out, as_json: bool,
                 jurors: list[str] | None = None) -> None:
    from copilot_lab.anomaly import CaseView
    from copilot_lab.coordinator import diagnose
    from copilot_lab.evaluate import agents
    from copilot_lab.rcaeval_io import load_files

    telemetry, graph, notes = load_files(metrics, logs, traces, topology)
    notes += check_anomaly_time(anomaly_time, telemetry.time, metrics)
    view = CaseView.over_rows(telemetry, graph, anomaly_time)
    notes += history_notes(view)
    findings = [agent.rank(view) for agent in agents(jurors)]
    if llm_url:
        from copilot_lab.agents.llm import LlmAgent

        findings.append(LlmAgent(llm_url, llm_model, findings).rank(view))
    result = diagnose(findings, telemetry.names, graph, FusionConfig(threshold=threshold))
    report = {**result.to_dict(), "notes": notes, "jurors": {
        f.agent: [{"service": telemetry.names[i], "score": round(float(f.scores[i]), 4), "evidence": f.evidence.get(i)}
                  for i in f.ranking()[:3] if f.scores[i] > 0] for f in findings}}
    out = prepare_out(LAB, "diagnose", out)

    def show() -> None:
        print_table("root-cause ranking", ["#", "service", "share"],
                    [[i + 1, r["service"], r["share"]] for i, r in enumerate(report["ranking"])],
                    note=f"confidence {result.confidence:.2f}" + (" — ABSTAIN: below threshold, ask a human" if result.abstain else ""))
        for line in result.explanation:
            print("  " + line)
        for line in notes:
            print("  note: " + line)

    finish(report, out, as_json, show)
