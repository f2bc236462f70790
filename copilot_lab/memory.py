"""Experience memory: resolved cases as signatures, matched to new cases (a past-case juror).

witty-skill-insight turns past incidents into reusable skills; the witty RCA jury has a
"historical match" juror. Here every resolved case leaves behind a **signature** per candidate
service — what the jurors said about it, its own metric anomalies, how anomalous its callers and
callees were — labelled root / not root, and (for roots) the fault type. For a new case the
memory scores each candidate by its *k* nearest stored signatures (distance-weighted vote), so
patterns no single rule captures ("my callers are slow, my own metrics are quiet, the logs name
me" → a network fault at me) are learned from experience instead of hand-coded.

Signatures are service-agnostic, so experience transfers across services and systems.

**Skills** (experience-driven skill evolution, after witty-skill-insight): every resolved case
also tells which jurors named the true root first *for that fault type*. The memory keeps a
per-type track record of each juror and, for a new case, re-weights the jurors by their record
on the fault type the nearest past roots had (:meth:`ExperienceMemory.skill_weights`) — trust
the trace agent more when the past says "network fault", the log agent for code exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from copilot_lab.agents.base import Finding, juror_names
from copilot_lab.anomaly import CaseView

KINDS = ("latency", "error", "throughput", "cpu", "mem", "disk", "net")


def signatures(view: CaseView, findings: list[Finding]) -> np.ndarray:
    """(S, D) one signature per candidate service of this case."""
    n = view.n
    by_agent = {f.agent: f for f in findings}
    cols = []
    for name in juror_names():
        f = by_agent.get(name)
        if f is None or f.strength <= 0:
            cols += [np.zeros(n), np.zeros(n)]
            continue
        share = f.distribution()
        cols += [share / max(share.max(), 1e-12), (np.arange(n)[None, :] == f.ranking()[0]).ravel().astype(float)]
    z = view.metric_z()
    kinds = view.telemetry.kinds
    for kind in KINDS:
        cols.append(
            np.tanh(np.clip(z[:, kinds.index(kind)], 0, None) / 10) if z is not None and kind in kinds else np.zeros(n)
        )
    symptom = view.metric_anomaly(only=("latency", "error"))
    g = view.graph
    if symptom is not None and g is not None:
        s = np.tanh(symptom / 10)
        callers = np.where(g.adjacency.T, s[None, :], 0)  # [i, caller]
        callees = np.where(g.adjacency, s[None, :], 0)  # [i, callee]
        n_callers = np.maximum(g.adjacency.sum(axis=0), 1)
        cols += [
            callers.max(axis=1),
            (callers > np.tanh(0.3)).sum(axis=1) / n_callers,
            callees.max(axis=1),
            (~g.adjacency.any(axis=1)).astype(float),
        ]
    else:
        cols += [np.zeros(n)] * 4
    return np.stack(cols, axis=1)


@dataclass
class ExperienceMemory:
    k: int = 5
    vectors: list[np.ndarray] = field(default_factory=list)
    is_root: list[bool] = field(default_factory=list)
    fault: list[str | None] = field(default_factory=list)
    cases: int = 0
    record: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # fault -> juror -> [hits, cases]

    def remember(
        self,
        sig: np.ndarray,
        root: int,
        fault: str,
        candidates: list[int],
        negatives: int = 4,
        findings: list[Finding] | None = None,
    ) -> None:
        """Store a resolved case: the root's signature (with its fault type) and a few wrong
        candidates' signatures (the ones the jurors ranked highest) as counter-examples; with
        `findings`, also each juror's hit or miss on this fault type (its skill record)."""
        for f in findings or []:
            hits = self.record.setdefault(fault, {}).setdefault(f.agent, [0.0, 0.0])
            hits[0] += float(f.strength > 0 and f.ranking()[0] == root)
            hits[1] += 1.0
        self.vectors.append(sig[root])
        self.is_root.append(True)
        self.fault.append(fault)
        for c in [c for c in candidates if c != root][:negatives]:
            self.vectors.append(sig[c])
            self.is_root.append(False)
            self.fault.append(None)
        self.cases += 1

    def _neighbours(self, queries: np.ndarray, only_roots: bool = False) -> tuple[np.ndarray, np.ndarray]:
        stored = np.array(self.vectors)
        labels = np.array(self.is_root)
        index = np.flatnonzero(labels) if only_roots else np.arange(len(stored))
        d = np.sqrt(((queries[:, None, :] - stored[None, index, :]) ** 2).sum(axis=2))
        k = min(self.k, len(index))
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        return index[nearest], np.take_along_axis(d, nearest, axis=1)

    def judge(self, sig: np.ndarray) -> Finding:
        """The memory as a juror: P(root) per candidate from its nearest stored signatures."""
        n = len(sig)
        if self.cases == 0:
            return Finding("memory", np.zeros(n), 0.0)
        idx, dist = self._neighbours(sig)
        w = 1.0 / (dist + 0.05)
        labels = np.array(self.is_root)[idx]
        p = (w * labels).sum(axis=1) / w.sum(axis=1)
        evidence = {}
        for i in np.argsort(-p)[:3]:
            similar = [self.fault[j] for j, lab in zip(idx[i], labels[i]) if lab]
            if similar:
                common = max(set(similar), key=similar.count)
                evidence[int(i)] = (
                    f"{int(labels[i].sum())}/{len(labels[i])} most similar past signatures were roots (mostly {common})"
                )
        strength = self.cases / (self.cases + 20.0)  # trust grows with experience
        return Finding("memory", p, strength, evidence)

    def fault_votes(self, signature: np.ndarray) -> dict[str, float]:
        """Share of each fault type among the k nearest stored roots (empty before any case)."""
        if self.cases == 0:
            return {}
        idx, _ = self._neighbours(signature[None, :], only_roots=True)
        found = [self.fault[j] for j in idx[0]]
        return {t: found.count(t) / len(found) for t in sorted(set(found))}

    def overall_rates(self) -> dict[str, float]:
        """Each juror's hit rate (root ranked first) over every resolved case it judged."""
        totals: dict[str, list[float]] = {}
        for per_agent in self.record.values():
            for agent, (hits, n) in per_agent.items():
                t = totals.setdefault(agent, [0.0, 0.0])
                t[0] += hits
                t[1] += n
        return {agent: hits / n for agent, (hits, n) in totals.items() if n}

    def skills(self, prior: float = 10.0) -> dict[str, dict[str, float]]:
        """Learned reliability of every juror per fault type: its hit rate on that type, shrunk
        towards its overall rate r(a) by `prior` pseudo-cases, ``(hits + prior·r(a)) / (cases + prior)``,
        so that a type seen twice does not swing the jury."""
        rates = self.overall_rates()
        return {
            fault: {a: (h + prior * rates[a]) / (c + prior) for a, (h, c) in per_agent.items()}
            for fault, per_agent in sorted(self.record.items())
        }

    def skill_weights(self, weights: dict[str, float], signature: np.ndarray, prior: float = 10.0) -> dict[str, float]:
        """`weights` re-weighted by each juror's track record on the fault type the past suggests:
        ``weights[a] × Σ_t vote(t) · skill(a, t) / r(a)``, with the vote over fault types from
        :meth:`fault_votes` of `signature` (the suspect's signature). A juror above its average
        on the likely type gains weight, one below loses it; jurors without a record keep theirs."""
        votes = self.fault_votes(signature)
        rates, skills = self.overall_rates(), self.skills(prior)
        out = dict(weights)
        for agent, rate in rates.items():
            if rate > 0 and votes:
                factor = sum(share * skills.get(fault, {}).get(agent, rate) / rate for fault, share in votes.items())
                out[agent] = weights.get(agent, 1.0) * factor
        return out

    def fault_type(self, signature: np.ndarray) -> str | None:
        """The most common fault type among the nearest stored roots."""
        votes = self.fault_votes(signature)
        return max(votes, key=votes.get) if votes else None

    def retrieval_precision(self, signature: np.ndarray, fault: str) -> float:
        """Share of the k nearest stored roots whose fault type is `fault`."""
        if self.cases == 0:
            return float("nan")
        idx, _ = self._neighbours(signature[None, :], only_roots=True)
        return float(np.mean([self.fault[j] == fault for j in idx[0]]))
