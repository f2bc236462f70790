"""The lab's experiments behind the CLI, the tour and the notebook: each returns a results
object and never prints (tables and figures: :mod:`copilot_lab.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from copilot_lab.agents.base import juror_names
from copilot_lab.coordinator import FusionConfig, fuse
from copilot_lab.evaluate import EvalConfig, ac_at_k, avg_at_k, collect, evaluate, rank_of, systems_for
from sysai.errors import UserError

LAB = "copilot"


def evaluation(cases: int, system: str, split: str, warmup: int, threshold: float, seed: int):
    """Every method on `cases` simulated cases: (EvalResults, per-case records, raw curves)."""
    return evaluate(EvalConfig(cases, system, split, warmup, threshold), seed)


@dataclass
class RobustnessResults:
    cases_per_setting: int
    systems: list[str]
    seed: int
    rows: list[dict]
    figures: list[str]


def robustness(cases: int, system: str, seed: int, quick: bool) -> RobustnessResults:
    """Coordinator vs single agents under more noise, a missing modality, a shifted anomaly time."""
    from copilot_lab.world import SimConfig

    systems = systems_for(system)
    fusion = FusionConfig()
    settings: list[tuple[str, str, dict]] = []
    for noise in [1.0, 2.0] if quick else [0.5, 1.0, 2.0, 3.0]:
        settings.append(("noise", f"{noise:g}", {"sim": SimConfig(noise=noise)}))
    for drop in ("metrics", "logs", "traces"):
        settings.append(("missing modality", drop, {"drop": drop}))
    for shift in [-60, 0, 60] if quick else [-120, -60, -30, 0, 30, 60, 120]:
        settings.append(("anomaly time shift (s)", f"{shift:+d}", {"view_shift_s": float(shift)}))
    rows = []
    for group, value, kwargs in settings:
        records = collect(systems, cases, seed, "eval", **kwargs)
        row = {"experiment": group, "setting": value}
        for name in juror_names():
            r = np.array(
                [
                    rank_of(f.scores, rec.case.root_index) if f.strength > 0 else rec.n
                    for rec in records
                    for f in rec.findings
                    if f.agent == name
                ]
            )
            row[name] = ac_at_k(r, 1)
        multi = np.array(
            [rank_of(fuse(rec.findings, fusion.weights, fusion.sharpen)[0], rec.case.root_index) for rec in records]
        )
        row["multi_agent"] = ac_at_k(multi, 1)
        row["multi_agent_avg5"] = avg_at_k(multi, 5)
        rows.append(row)
    return RobustnessResults(cases, [s.name for s in systems], seed, rows, [])


def loudest(telemetry, system, onset_time: float) -> dict[str, dict]:
    """Per metric kind, the service whose metric moved most — a plain z-score (mean and standard
    deviation) of the 5 minutes after the onset against the 10 before: what an operator staring
    at dashboards sees first. Plain on purpose: it needs none of the graded tasks."""
    from copilot_lab.anomaly import CaseView

    base, test = CaseView(telemetry, system.graph, onset_time).windows(telemetry.time)
    m = telemetry.metrics
    with np.errstate(all="ignore"):
        z = (m[test].mean(axis=0) - m[base].mean(axis=0)) / np.maximum(m[base].std(axis=0), 1e-9)
    out = {}
    for k, kind in enumerate(telemetry.kinds):
        i = int(np.argmax(np.abs(np.nan_to_num(z[:, k]))))
        out[kind] = {"service": telemetry.names[i], "z": round(float(z[i, k]), 1)}
    return out


def inject(fault: str, root: str | None, system_name: str, severity: float, seed: int, out: Path) -> dict:
    """Generate one case and write it to `out` in the RCAEval layout; returns the truth and the files."""
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
    truth = {
        "system": system.name,
        "fault": fault,
        "root": system.names[root_index],
        "severity": severity,
        "onset_time": float(telemetry.time[onset]),
        "seed": seed,
    }
    paths = write_case(out, telemetry, system, truth)
    return {
        **truth,
        "loudest": loudest(telemetry, system, truth["onset_time"]),
        "files": {k: str(v) for k, v in paths.items()},
        "diagnose": (
            f"sysai copilot diagnose --metrics {paths['metrics']} --logs {paths['logs']} "
            f"--traces {paths['traces']} --topology {paths['topology']} --anomaly-time {truth['onset_time']:.0f}"
        ),
    }


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
        raise UserError(
            f"--anomaly-time {show(anomaly_time)} is outside the time range of {path} "
            f"[{show(time[0])}, {show(time[-1])}]"
        )
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
    return (
        [f"no history before the anomaly for {', '.join(new)}: their metrics cannot be compared with a baseline"]
        if new
        else []
    )


def diagnosis(
    metrics: Path,
    logs: Path | None,
    traces: Path | None,
    topology: Path | None,
    anomaly_time: float,
    threshold: float = 0.7,
    llm_url: str | None = None,
    llm_model: str = "gpt-4o-mini",
    jurors: list[str] | None = None,
) -> dict:
    """Ranked root causes with confidence, explanation, notes and each juror's top suspects."""
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
    return {
        **result.to_dict(),
        "notes": notes,
        "jurors": {
            f.agent: [
                {"service": telemetry.names[i], "score": round(float(f.scores[i]), 4), "evidence": f.evidence.get(i)}
                for i in f.ranking()[:3]
                if f.scores[i] > 0
            ]
            for f in findings
        },
    }


@dataclass
class SkillsResults:
    cases: int
    warmup: int
    seed: int
    systems: list[str]
    methods: dict[str, dict]  # method -> ac1, agent_calls, ms_per_case (+ low-confidence stats for planners)
    library: dict[str, dict]  # planner -> created, merged, retired, size, active
    precision_by_size: list[dict]  # library size bin -> retrieval precision (main planner)
    example_skills: list[dict]
    figures: list[str]


def skills_experiment(
    cases: int = 140,
    system: str = "both",
    warmup: int = 300,
    seed: int = 42,
    budgets: tuple[int, ...] = (1, 2, 3),
    corroborated: tuple[int, ...] = (2, 3),
) -> SkillsResults:
    """Skills vs the all-jurors jury: accuracy and cost (agent calls, ms) per case. The skill library
    learns from `warmup` dev cases, then online on the eval cases (each diagnosed before it is learned)."""
    from copilot_lab.coordinator import FusionConfig
    from copilot_lab.skills import SkillLibrary

    systems = systems_for(system)
    fusion = FusionConfig()
    warm = collect(systems, warmup, seed, "dev", offset=200_000) if warmup else []
    records = collect(systems, cases, seed, "eval")
    jurors = juror_names()
    cost = {a: float(np.mean([r.ms[a] for r in (warm or records)])) for a in jurors}
    order = sorted(jurors, key=lambda a: (cost[a], a))
    methods: dict[str, dict] = {}
    for a in jurors:
        hits = [rec.findings[jurors.index(a)].ranking()[0] == rec.case.root_index for rec in records]
        methods[a] = {
            "ac1": float(np.mean(hits)),
            "agent_calls": 1.0,
            "ms_per_case": float(np.mean([r.ms[a] for r in records])),
        }
    jury = [int(np.argmax(fuse(r.findings, fusion.weights, fusion.sharpen)[0])) == r.case.root_index for r in records]
    methods["all_jurors"] = {
        "ac1": float(np.mean(jury)),
        "agent_calls": float(len(jurors)),
        "ms_per_case": float(np.mean([sum(r.ms[a] for a in jurors) for r in records])),
    }
    library, precision_rows, examples = {}, [], []
    from copilot_lab.skills import SkillConfig

    variants = [(b, 1) for b in budgets] + [(b, 2) for b in corroborated]
    for budget, agree in variants:
        lib = SkillLibrary(SkillConfig(agree=agree))
        sizes, precisions = [], []
        for phase, stream in (("warm", warm), ("eval", records)):
            hits, calls, ms, low, low_hits = [], [], [], [], []
            for rec in stream:
                found = {f.agent: f for f in rec.findings}
                if phase == "eval":
                    sizes.append(len(lib.active))
                    precisions.append(lib.precision(rec.trigger, rec.case.fault))
                plan = lib.plan(rec.trigger, found, order, fusion.weights, budget, rec.coverage)
                ok = int(np.argmax(plan.ranking)) == rec.case.root_index
                hits.append(ok)
                calls.append(len(plan.consulted))
                ms.append(rec.ms["trigger"] + sum(rec.ms[a] for a in plan.consulted))
                low.append(plan.low_confidence)
                if plan.low_confidence:
                    low_hits.append(ok)
                lib.learn(rec.trigger, found, rec.case.root_index, rec.case.fault, plan, cost)
        flagged = np.array(low)
        name = f"skills_budget_{budget}" + ("_agree_2" if agree > 1 else "")
        methods[name] = {
            "ac1": float(np.mean(hits)),
            "agent_calls": float(np.mean(calls)),
            "ms_per_case": float(np.mean(ms)),
            "low_confidence_share": float(flagged.mean()),
            "ac1_when_flagged": float(np.mean(low_hits)) if low_hits else None,
            "ac1_when_not_flagged": float(np.mean(np.array(hits)[~flagged])) if (~flagged).any() else None,
        }
        library[name] = {
            "created": lib.created,
            "merged": lib.merged,
            "retired": lib.retired,
            "size": len(lib.skills),
            "active": len(lib.active),
        }
        if (budget, agree) == (budgets[-1], 1):
            for lo, hi in ((0, 10), (10, 25), (25, 50), (50, 10**9)):
                got = [p for s, p in zip(sizes, precisions) if lo <= s < hi and p is not None]
                asked = [p for s, p in zip(sizes, precisions) if lo <= s < hi]
                precision_rows.append(
                    {
                        "library_size": f"{lo}–{hi - 1}" if hi < 10**9 else f"≥{lo}",
                        "cases": len(asked),
                        "retrieved": len(got),
                        "precision": float(np.mean(got)) if got else None,
                    }
                )
            top = sorted(lib.active, key=lambda i: -lib.skills[i].cases)[:5]
            examples = [
                {
                    "cases": lib.skills[i].cases,
                    "steps": lib.skills[i].steps,
                    "faults": dict(lib.skills[i].faults.most_common(3)),
                    "uses": lib.skills[i].uses,
                    "successes": lib.skills[i].successes,
                }
                for i in top
            ]
    return SkillsResults(
        len(records), len(warm), seed, [s.name for s in systems], methods, library, precision_rows, examples, []
    )


@dataclass
class MemoryResults:
    cases: int
    warmup: int
    seed: int
    settings: list[dict]  # setting -> AC@1 per method (and on the held-out types)
    held_out: list[str]


def memory_experiment(
    cases: int = 140,
    warmup: int = 100,
    system: str = "both",
    seed: int = 42,
    held_out: tuple[str, ...] = ("memory_leak", "packet_loss"),
) -> MemoryResults:
    """Where memory can matter: two concurrent roots (the same fault in two services; a hit names
    either first), fault types the memory never saw (about 2/7 of the eval cases), noisy anomaly
    times (sd 60 s), and the standard setting; AC@1 of the coordinator without
    memory, with the memory juror, with the memory's per-type skill weights, and of the skill
    planner (budget 3)."""
    from copilot_lab.cases import fault_names
    from copilot_lab.evaluate import run_memory
    from copilot_lab.memory import ExperienceMemory
    from copilot_lab.skills import SkillLibrary

    systems = systems_for(system)
    fusion = FusionConfig()
    seen = [f for f in fault_names() if f not in held_out]
    settings = [
        ("standard", {}, None),
        ("two concurrent roots (same fault)", {"roots": 2}, None),
        ("held-out fault types", {}, seen),
        ("noisy anomaly time (sd 60 s)", {"shift_sd_s": 60.0}, None),
    ]
    rows = []
    for name, kwargs, warm_faults in settings:
        warm = collect(systems, warmup, seed, "dev", offset=300_000, faults=warm_faults, **kwargs) if warmup else []
        records = collect(systems, cases, seed, "eval", **kwargs)
        memory = ExperienceMemory()
        run_memory(warm, fusion, memory)
        online = run_memory(records, fusion, memory)
        # a hit names any of the case's roots first (one root unless the setting has two)
        plain = [int(np.argmax(fuse(r.findings, fusion.weights, fusion.sharpen)[0])) in r.case.roots for r in records]
        jurors = juror_names()
        cost = {a: float(np.mean([r.ms[a] for r in (warm or records)])) for a in jurors}
        order = sorted(jurors, key=lambda a: (cost[a], a))
        lib, planned = SkillLibrary(), []
        for phase, stream in (("warm", warm), ("eval", records)):
            for rec in stream:
                found = {f.agent: f for f in rec.findings}
                plan = lib.plan(rec.trigger, found, order, fusion.weights, 3, rec.coverage)
                if phase == "eval":
                    planned.append(int(np.argmax(plan.ranking)) in rec.case.roots)
                lib.learn(rec.trigger, found, rec.case.root_index, rec.case.fault, plan, cost)
        ranks = {
            "multi_agent": np.array(plain),
            "multi_agent_memory": np.array([t in r.case.roots for t, r in zip(online["top"], records)]),
            "multi_agent_skills": np.array([t in r.case.roots for t, r in zip(online["skills_top"], records)]),
            "skills_planner": np.array(planned),
        }
        row = {"setting": name, **{m: float(v.mean()) for m, v in ranks.items()}}
        if warm_faults is not None:
            new = np.array([r.case.fault in held_out for r in records])
            row["held_out_share"] = float(new.mean())
            row.update({f"{m}_on_held_out": float(v[new].mean()) for m, v in ranks.items()})
        rows.append(row)
    return MemoryResults(cases, warmup, seed, rows, list(held_out))
