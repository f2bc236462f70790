"""Skills that change what the agents do: experience-driven skill evolution, after EulerCopilot's
witty-skill-insight.

A **skill** is

* a **trigger**: a symptom signature, computed from the metrics alone *before* any agent runs
  (per metric kind, how loud the loudest service is; how widespread the anomaly is; whether
  logs and traces exist) — what an on-call engineer sees on the dashboard;
* an ordered list of **evidence steps**: which agents to consult, in which order (the ones that
  were right on the cases it was learned from, most reliable first, cheapest on ties);
* a **decision rule**: fuse what has been consulted so far; stop as soon as the confidence
  ``p1 / (p1 + p2)`` reaches 0.7 (witty's threshold) — and, with ``agree = 2``, only once two
  consulted jurors name the same first suspect (a single sharpened juror is nearly always
  "confident" on its own).

The **library** evolves: every resolved case *creates* a candidate skill from the agents that
ranked its root first; a candidate whose trigger is close to an existing skill's (cosine ≥
``merge_similarity``) and whose first step agrees is *merged* into it (triggers averaged, step
order re-derived from the merged hit counts); a skill used at least ``retire_after`` times whose
success rate falls below ``retire_below`` is *retired*.

The **planner** retrieves the most similar active skill (cosine ≥ ``match_similarity``), runs
its steps in order within a **budget** of agent calls, and stops at confidence ≥ 0.7; with no
matching skill it falls back to consulting every juror (the all-jurors jury). It flags **low
confidence** when the evidence it consulted covers under 40 % of the case's anomalous
dimensions (metric kinds that left their band, logs, traces) or the confidence stayed below 0.7.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from copilot_lab.agents.base import Finding
from copilot_lab.anomaly import CaseView, one_sided
from sysai.config import option

SIGNATURE_KINDS = ("latency", "error", "throughput", "cpu", "mem", "disk", "net")
#: what each agent reads: the anomalous dimensions its evidence covers
READS = {"metric": {"metrics"}, "topology": {"latency", "error"}, "log": {"logs"}, "trace": {"traces", "latency"}}


def symptom_signature(view: CaseView) -> np.ndarray:
    """The trigger vector: per kind the loudest one-sided z (squashed), how many services are
    anomalous, and which modalities exist."""
    tel = view.telemetry
    profile = np.zeros(len(SIGNATURE_KINDS))
    spread = 0.0
    z = view.metric_z()
    if z is not None:
        loud = one_sided(z, tel.kinds)
        for i, kind in enumerate(SIGNATURE_KINDS):
            cols = [k for k, name in enumerate(tel.kinds) if kind in name]
            if cols:
                profile[i] = np.tanh(loud[:, cols].max() / 10)
        spread = float((loud.max(axis=1) > 3).mean())
    has = [
        float(tel.logs is not None and len(tel.logs.time) > 0),
        float(tel.traces is not None and len(tel.traces.span) > 0),
    ]
    return np.concatenate([profile, [spread], has])


def anomalous_dimensions(view: CaseView) -> set[str]:
    """The dimensions an explanation should cover: metric kinds that left their band (|z| > 3
    somewhere), and logs and traces when the case has them."""
    dims: set[str] = set()
    z = view.metric_z()
    if z is not None:
        loud = one_sided(z, view.telemetry.kinds)
        dims |= {f"{kind}" for k, kind in enumerate(view.telemetry.kinds) if loud[:, k].max() > 3}
    tel = view.telemetry
    if tel.logs is not None and len(tel.logs.time):
        dims.add("logs")
    if tel.traces is not None and len(tel.traces.span):
        dims.add("traces")
    return dims


def coverage(dims: set[str], consulted: list[str]) -> float:
    """Share of `dims` the consulted agents read (the metric agent reads every metric kind)."""
    if not dims:
        return 1.0
    covered = set()
    for agent in consulted:
        reads = READS.get(agent, set())
        covered |= {d for d in dims if d in reads or ("metrics" in reads and d not in ("logs", "traces"))}
    return len(covered) / len(dims)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


@dataclass
class Skill:
    trigger: np.ndarray
    steps: list[str]
    hits: Counter = field(default_factory=Counter)  # agent -> cases of this skill it ranked first
    cases: int = 1
    faults: Counter = field(default_factory=Counter)  # fault types it was learned from
    uses: int = 0
    successes: int = 0
    active: bool = True

    def reorder(self, cost: dict[str, float]) -> None:
        """Steps: agents right on at least half the skill's cases, most reliable first, cheapest on ties."""
        good = [a for a, h in self.hits.items() if h >= 0.5 * self.cases] or [self.hits.most_common(1)[0][0]]
        self.steps = sorted(good, key=lambda a: (-self.hits[a], cost.get(a, 0.0), a))


@dataclass
class SkillConfig:
    merge_similarity: float = option(0.97, "merge a new skill into an existing one at this trigger cosine")
    match_similarity: float = option(0.9, "retrieve a skill only at this trigger cosine or above")
    retire_after: int = option(5, "uses before a skill can be retired")
    retire_below: float = option(0.5, "retire a skill whose success rate falls below this")
    stop_confidence: float = option(0.7, "the decision rule: stop consulting at this confidence")
    low_coverage: float = option(0.4, "flag low confidence when evidence covers less than this share")
    agree: int = option(1, "also require this many consulted jurors to name the same first suspect before stopping")


@dataclass
class Plan:
    ranking: np.ndarray  # pooled shares
    consulted: list[str]
    confidence: float
    low_confidence: bool
    skill: int | None  # index of the skill used (None: the all-jurors fallback)
    coverage: float


class SkillLibrary:
    def __init__(self, config: SkillConfig | None = None):
        self.config = config or SkillConfig()
        self.skills: list[Skill] = []
        self.created = self.merged = self.retired = 0

    @property
    def active(self) -> list[int]:
        return [i for i, s in enumerate(self.skills) if s.active]

    def retrieve(self, trigger: np.ndarray) -> int | None:
        best, best_sim = None, self.config.match_similarity
        for i in self.active:
            sim = _cos(trigger, self.skills[i].trigger)
            if sim >= best_sim:
                best, best_sim = i, sim
        return best

    def plan(
        self,
        trigger: np.ndarray,
        findings: dict[str, Finding],
        order: list[str],
        weights: dict[str, float],
        budget: int,
        dims: set[str],
        sharpen: float = 2.0,
    ) -> Plan:
        """Run a skill's steps (or every juror in `order` when none matches) within `budget` calls."""
        from copilot_lab.coordinator import fuse

        index = self.retrieve(trigger)
        steps = list(self.skills[index].steps) if index is not None else list(order)
        steps += [a for a in order if a not in steps]  # after the skill's own steps, the rest by cost
        if index is None:
            budget = len(order)  # no experience: consult the whole jury
        consulted: list[str] = []
        pooled, confidence = None, 0.0
        for agent in steps[:budget]:
            consulted.append(agent)
            pooled, confidence, _ = fuse([findings[a] for a in consulted], weights, sharpen)
            if index is not None and confidence >= self.config.stop_confidence and findings[agent].strength > 0:
                top = int(np.argmax(pooled))
                agreeing = sum(findings[a].strength > 0 and findings[a].ranking()[0] == top for a in consulted)
                if agreeing >= self.config.agree:
                    break  # the decision rule; the fallback jury hears everyone
        cov = coverage(dims, consulted)
        low = cov < self.config.low_coverage or confidence < self.config.stop_confidence
        return Plan(pooled, consulted, confidence, low, index, cov)

    def learn(
        self,
        trigger: np.ndarray,
        findings: dict[str, Finding],
        root: int,
        fault: str,
        plan: Plan | None,
        cost: dict[str, float],
    ) -> None:
        """The operator resolved the case: score the skill that was used, retire it if it keeps
        failing, then create a candidate from the agents that were right and merge it if similar."""
        c = self.config
        if plan is not None and plan.skill is not None:
            used = self.skills[plan.skill]
            used.uses += 1
            used.successes += int(int(np.argmax(plan.ranking)) == root)
            if used.uses >= c.retire_after and used.successes / used.uses < c.retire_below:
                used.active = False
                self.retired += 1
        right = [a for a, f in findings.items() if f.strength > 0 and f.ranking()[0] == root]
        if not right:
            return
        candidate = Skill(trigger.copy(), [], Counter(right), 1, Counter([fault]))
        candidate.reorder(cost)
        for i in self.active:
            s = self.skills[i]
            if _cos(trigger, s.trigger) >= c.merge_similarity and s.steps[0] == candidate.steps[0]:
                s.trigger = (s.trigger * s.cases + trigger) / (s.cases + 1)
                s.hits.update(right)
                s.cases += 1
                s.faults[fault] += 1
                s.reorder(cost)
                self.merged += 1
                return
        self.skills.append(candidate)
        self.created += 1

    def precision(self, trigger: np.ndarray, fault: str) -> float | None:
        """Does retrieval bring back a skill learned from this fault type? (its majority type)"""
        index = self.retrieve(trigger)
        if index is None:
            return None
        return float(self.skills[index].faults.most_common(1)[0][0] == fault)
