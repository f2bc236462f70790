"""RCAEval-style evaluation: AC@k and Avg@k per fault type and method, on seeded cases.

RCAEval (Pham et al., WWW'25) scores a ranked list of root-cause candidates by **AC@k** — the
share of cases whose true root is among the top k — and **Avg@k** = mean of AC@1 … AC@k. The
methods: ``random`` (its exact expectation, k/N), each single agent, the multi-agent
coordinator, and the coordinator with experience memory. Every case is diagnosed *before* the
memory learns its answer (an operator resolving the incident), so memory never sees the future.

Cases come from the **eval** split; the agents' constants and the fusion weights were tuned on
the **dev** split (:mod:`copilot_lab.cases`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from copilot_lab.agents.base import AGENTS, Finding, juror_names
from copilot_lab.anomaly import CaseView
from copilot_lab.cases import Case, make_case
from copilot_lab.coordinator import FusionConfig, fuse
from copilot_lab.memory import ExperienceMemory, signatures
from copilot_lab.system import System, load_system
from copilot_lab.world import SimConfig
from sysai.config import option
from sysai.timing import Timer

COMBINED = ("multi_agent", "multi_agent_memory", "multi_agent_skills")


def methods() -> list[str]:
    """random, every default juror alone, the coordinator, the coordinator with memory (as a
    juror), and with memory plus per-fault-type juror skills learned from it."""
    return ["random", *juror_names(), *COMBINED]


def ac_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of cases whose true root is within the top `k` (ranks are 0-based; -1 = not ranked)."""
    # BEGIN SOLUTION task4_4
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return float("nan")
    return float(np.mean((ranks >= 0) & (ranks < k)))
    # END SOLUTION


def avg_at_k(ranks: np.ndarray, k: int = 5) -> float:
    """Mean of AC@1 … AC@k."""
    # BEGIN SOLUTION task4_4
    return float(np.mean([ac_at_k(ranks, j) for j in range(1, k + 1)]))
    # END SOLUTION


def random_expectation(n_services: np.ndarray, k: int) -> float:
    """Exact AC@k of a uniformly random ranking: min(k, N)/N, averaged over cases."""
    n = np.asarray(n_services, dtype=float)
    return float(np.mean(np.minimum(k, n) / n))


@dataclass
class EvalConfig:
    cases: int = option(210, "evaluation cases (spread evenly over fault types)")
    system: str = option("both", "shop, platform, both (alternating) or a YAML file")
    split: str = option("eval", "which seed stream: eval (report) or dev (tuning)")
    warmup: int = option(100, "dev-split cases the memory has resolved before the evaluation starts")
    threshold: float = option(0.7, "coordinator confidence below which it abstains")


@dataclass
class CaseRecord:
    """Everything computed once per case, reused by every method, ablation and curve."""

    case: Case
    n: int
    findings: list[Finding]
    signature: np.ndarray
    ms: dict[str, float]
    trigger: np.ndarray | None = None  # the symptom signature skills are retrieved by (before any agent runs)
    coverage: dict | None = None  # anomalous dimensions and what each agent reads (for the planner)


@dataclass
class EvalResults:
    cases: int
    seed: int
    split: str
    systems: list[str]
    seeds_note: str
    methods: dict[str, dict[str, float]]
    per_fault: dict[str, dict[str, dict[str, float]]]
    calibration: dict
    ablation: dict[str, dict[str, float]]
    memory: dict
    ms_generate_per_case: float
    figures: list[str] = field(default_factory=list)


def systems_for(name: str) -> list[System]:
    return [load_system("shop"), load_system("platform")] if name == "both" else [load_system(name)]


def agents(names: list[str] | None = None) -> list:
    return [AGENTS.create(name) for name in (names or juror_names())]


def collect(
    systems: list[System],
    n_cases: int,
    seed: int,
    split: str,
    sim: SimConfig | None = None,
    offset: int = 0,
    view_shift_s: float = 0.0,
    drop: str | None = None,
    faults: list[str] | None = None,
    shift_sd_s: float = 0.0,
    roots: int = 1,
) -> list[CaseRecord]:
    """Generate cases and run every single agent once on each. `faults` restricts the fault types;
    `shift_sd_s` adds a seeded random error (normal, this sd) to each case's anomaly time; `roots`
    puts the fault into that many services at once."""
    from sysai.seeding import rng

    jurors = agents()
    records = []
    for k in range(n_cases):
        system = systems[k % len(systems)]
        case, telemetry = make_case(system, seed, split, offset + k, sim, faults, roots)
        if drop is not None:
            telemetry = telemetry.without(drop)
        noise = float(rng(seed, "anomaly-time", split, offset + k).normal(0, shift_sd_s)) if shift_sd_s else 0.0
        view = CaseView(telemetry, system.graph, case.onset_time + view_shift_s + noise)
        findings, ms = [], {}
        for agent, name in zip(jurors, juror_names()):
            with Timer() as t:
                findings.append(agent.rank(view))
            ms[name] = t.elapsed_ms
        with Timer() as t:
            sig = signatures(view, findings)
        ms["signature"] = t.elapsed_ms
        from copilot_lab.skills import anomalous_dimensions, symptom_signature

        with Timer() as t:  # on a fresh view: the trigger's cost includes its own z-scores
            trigger = symptom_signature(CaseView(telemetry, system.graph, view.anomaly_time))
        ms["trigger"] = t.elapsed_ms
        records.append(CaseRecord(case, system.n, findings, sig, ms, trigger, anomalous_dimensions(view)))
    return records


def rank_of(scores: np.ndarray, root: int) -> int:
    order = np.lexsort((np.arange(len(scores)), -scores))
    return int(np.flatnonzero(order == root)[0])


def consult(
    memory: ExperienceMemory, rec: CaseRecord, fusion: FusionConfig
) -> tuple[Finding, np.ndarray, np.ndarray, int]:
    """The memory's verdict on one case: its juror finding, the pooled shares with the memory
    as a juror, the pooled shares with the jurors also re-weighted by their learned skill on the
    likely fault type, and the suspect whose signature the fault type was read from."""
    judged = memory.judge(rec.signature)
    jury = rec.findings + [judged]
    pooled = fuse(jury, fusion.weights, fusion.sharpen)[0]
    suspect = int(np.argmax(pooled))
    skilled = fuse(jury, memory.skill_weights(fusion.weights, rec.signature[suspect]), fusion.sharpen)[0]
    return judged, pooled, skilled, suspect


def learn(memory: ExperienceMemory, rec: CaseRecord, judged: Finding, pooled: np.ndarray) -> None:
    """The operator resolves the case: the memory stores its signatures and the jurors' record
    (its own verdict included, once it has one)."""
    memory.remember(
        rec.signature,
        rec.case.root_index,
        rec.case.fault,
        list(np.argsort(-pooled, kind="stable")),
        findings=rec.findings + ([judged] if judged.strength > 0 else []),
    )


def run_memory(records: list[CaseRecord], fusion: FusionConfig, memory: ExperienceMemory) -> dict[str, list]:
    """Diagnose each case with the memory (and its skills), then let the memory learn it."""
    out = {
        "rank": [],
        "skills_rank": [],
        "memory_rank": [],
        "confidence": [],
        "precision": [],
        "fault_ok": [],
        "ms": [],
    }
    for rec in records:
        with Timer() as t:
            judged, pooled, skilled, suspect = consult(memory, rec, fusion)
        first, second = (np.sort(pooled)[::-1].tolist() + [0.0])[:2]
        out["rank"].append(rank_of(pooled, rec.case.root_index))
        out.setdefault("top", []).append(int(np.argmax(pooled)))
        out.setdefault("skills_top", []).append(int(np.argmax(skilled)))
        out["skills_rank"].append(rank_of(skilled, rec.case.root_index))
        out["memory_rank"].append(rank_of(judged.scores, rec.case.root_index) if memory.cases else rec.n)
        out["confidence"].append(first / (first + second))
        out["precision"].append(memory.retrieval_precision(rec.signature[rec.case.root_index], rec.case.fault))
        out["fault_ok"].append(memory.fault_type(rec.signature[suspect]) == rec.case.fault if memory.cases else False)
        out["ms"].append(t.elapsed_ms + rec.ms["signature"])
        learn(memory, rec, judged, pooled)
    return out


def held_out_curve(
    history: list[CaseRecord], records: list[CaseRecord], fusion: FusionConfig, points: int = 6
) -> dict[str, list]:
    """Accuracy on `records` of a memory that has resolved the first n cases of `history`, for
    n from 0 to all of them; the memory is frozen while it is scored (it learns only from history)."""
    sizes = sorted({int(round(x)) for x in np.geomspace(1, len(history), points - 1)} | {0}) if history else [0]
    curve: dict[str, list] = {
        "past_cases": [],
        "multi_agent_memory_ac1": [],
        "multi_agent_skills_ac1": [],
        "memory_alone_ac1": [],
        "fault_type_accuracy": [],
        "retrieval_precision": [],
    }
    memory = ExperienceMemory()
    for n in sizes:
        while memory.cases < n:
            rec = history[memory.cases]
            judged, pooled, _, _ = consult(memory, rec, fusion)
            learn(memory, rec, judged, pooled)
        verdicts = [consult(memory, rec, fusion) for rec in records]
        roots = [rec.case.root_index for rec in records]
        curve["past_cases"].append(n)
        curve["multi_agent_memory_ac1"].append(float(np.mean([np.argmax(v[1]) == r for v, r in zip(verdicts, roots)])))
        curve["multi_agent_skills_ac1"].append(float(np.mean([np.argmax(v[2]) == r for v, r in zip(verdicts, roots)])))
        curve["memory_alone_ac1"].append(
            float(np.mean([n > 0 and rank_of(v[0].scores, r) == 0 for v, r in zip(verdicts, roots)]))
        )
        curve["fault_type_accuracy"].append(
            float(
                np.mean([memory.fault_type(rec.signature[v[3]]) == rec.case.fault for v, rec in zip(verdicts, records)])
            )
            if n
            else 0.0
        )
        curve["retrieval_precision"].append(
            float(
                np.mean(
                    [memory.retrieval_precision(rec.signature[rec.case.root_index], rec.case.fault) for rec in records]
                )
            )
            if n
            else 0.0
        )
    return curve


def evaluate(config: EvalConfig, seed: int, sim: SimConfig | None = None) -> tuple[EvalResults, list[CaseRecord], dict]:
    """All methods on `config.cases` cases; returns results, the per-case records and raw curves."""
    systems = systems_for(config.system)
    fusion = FusionConfig(threshold=config.threshold)
    with Timer() as gen:
        records = collect(systems, config.cases, seed, config.split, sim)
    ranks: dict[str, list[int]] = {m: [] for m in methods() if m != "random"}
    confidence = []
    for rec in records:
        for f in rec.findings:
            ranks[f.agent].append(rank_of(f.scores, rec.case.root_index) if f.strength > 0 else rec.n)
        pooled, conf, _ = fuse(rec.findings, fusion.weights, fusion.sharpen, fusion.threshold)
        ranks["multi_agent"].append(rank_of(pooled, rec.case.root_index))
        confidence.append(conf)
    # memory: warmed on dev-split history, then online over the evaluation cases
    memory = ExperienceMemory()
    warm = collect(systems, config.warmup, seed, "dev", sim, offset=100_000) if config.warmup else []
    run_memory(warm, fusion, memory)
    online = run_memory(records, fusion, memory)
    ranks["multi_agent_memory"] = online["rank"]
    ranks["multi_agent_skills"] = online["skills_rank"]
    cold = run_memory(records, fusion, ExperienceMemory())  # the learning curve starts from nothing

    n = np.array([r.n for r in records])
    faults = sorted({r.case.fault for r in records})
    fault_of = np.array([r.case.fault for r in records])
    single = juror_names()
    ms = {m: float(np.mean([r.ms[m] for r in records])) for m in single}
    ms["multi_agent"] = float(sum(ms[m] for m in single))
    ms["multi_agent_memory"] = ms["multi_agent_skills"] = ms["multi_agent"] + float(np.mean(online["ms"]))
    table = {
        "random": {
            "ac1": random_expectation(n, 1),
            "ac3": random_expectation(n, 3),
            "avg5": float(np.mean([random_expectation(n, k) for k in range(1, 6)])),
            "ms_per_case": 0.0,
        }
    }
    per_fault: dict[str, dict[str, dict[str, float]]] = {f: {} for f in faults}
    for fault in faults:
        m = fault_of == fault
        per_fault[fault]["random"] = {
            "ac1": random_expectation(n[m], 1),
            "avg5": float(np.mean([random_expectation(n[m], k) for k in range(1, 6)])),
        }
    for method, r in ranks.items():
        r = np.array(r)
        table[method] = {"ac1": ac_at_k(r, 1), "ac3": ac_at_k(r, 3), "avg5": avg_at_k(r, 5), "ms_per_case": ms[method]}
        for fault in faults:
            m = fault_of == fault
            per_fault[fault][method] = {"ac1": ac_at_k(r[m], 1), "avg5": avg_at_k(r[m], 5)}
    correct = np.array(ranks["multi_agent"]) == 0
    calibration = calibrate(np.array(confidence), correct, config.threshold)
    ablation = {}
    for dropped in single:
        r = [
            rank_of(
                fuse([f for f in rec.findings if f.agent != dropped], fusion.weights, fusion.sharpen)[0],
                rec.case.root_index,
            )
            for rec in records
        ]
        ablation[f"without_{dropped}"] = {"ac1": ac_at_k(np.array(r), 1), "avg5": avg_at_k(np.array(r), 5)}
    memory_summary = {
        "warmup_dev_cases": config.warmup,
        "fault_type_accuracy": float(np.mean(online["fault_ok"])),
        "learning_curve_ac1": _running(np.array(cold["rank"]) == 0),
        "learning_curve_memory_alone_ac1": _running(np.array(cold["memory_rank"]) == 0),
        "retrieval_precision": [None if np.isnan(p) else p for p in _running_nan(np.array(cold["precision"]))],
        "held_out": held_out_curve(warm, records, fusion),
        "skills": {t: {a: round(r, 3) for a, r in v.items()} for t, v in memory.skills().items()},
    }
    results = EvalResults(
        cases=len(records),
        seed=seed,
        split=config.split,
        systems=[s.name for s in systems],
        seeds_note=(
            "agents and fusion weights were tuned on the 'dev' split; these cases come from the "
            f"'{config.split}' split (seed {seed}); the memory's warm-up history comes from 'dev'"
        ),
        methods=table,
        per_fault=per_fault,
        calibration=calibration,
        ablation=ablation,
        memory=memory_summary,
        ms_generate_per_case=gen.elapsed_ms / max(len(records), 1),
    )
    return results, records, {"cold": cold, "online": online, "confidence": confidence, "correct": correct}


def calibrate(confidence: np.ndarray, correct: np.ndarray, threshold: float, bins: int = 5) -> dict:
    """Accuracy per confidence bin, and what abstaining below `threshold` buys."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges) - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        m = which == b
        table.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "cases": int(m.sum()),
                "mean_confidence": float(confidence[m].mean()) if m.any() else None,
                "accuracy": float(correct[m].mean()) if m.any() else None,
            }
        )
    answered = confidence >= threshold
    return {
        "bins": table,
        "threshold": threshold,
        "abstain_rate": float(1 - answered.mean()),
        "accuracy_answered": float(correct[answered].mean()) if answered.any() else None,
        "accuracy_abstained": float(correct[~answered].mean()) if (~answered).any() else None,
    }


def _running(hits: np.ndarray) -> list[float]:
    return (np.cumsum(hits) / np.arange(1, len(hits) + 1)).tolist()


def _running_nan(values: np.ndarray) -> list[float]:
    out, total, count = [], 0.0, 0
    for v in values:
        if not np.isnan(v):
            total, count = total + v, count + 1
        out.append(total / count if count else float("nan"))
    return out
