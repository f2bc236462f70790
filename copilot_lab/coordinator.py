"""The coordinator: fuse the jurors' findings by confidence, explain, and abstain when unsure.

This is the witty diagnosis agent's RCA "jury" in miniature. Each juror (agent) hands in a
:class:`~copilot_lab.agents.base.Finding`. The coordinator

1. turns each finding into shares over services (``scores / sum``), sharpened by ``sharpen``
   so a juror that clearly prefers one service is not diluted by its long tail;
2. weights juror ``a`` by ``weight[a] × strength[a]`` — its prior reliability times how much it
   actually saw — and averages the shares (a linear opinion pool);
3. ranks services by the pooled share; the **confidence** is how decisively the jury prefers
   its first suspect over the runner-up, ``p1 / (p1 + p2)`` (0.5 = a tie, 1 = no contest) —
   not ``p1`` itself, which a fault's own propagation dilutes (callers of the root rightly get
   some share); below ``threshold`` (witty: 0.7) it **abstains**: it still ranks, but flags the
   answer for a human;
4. explains: the evidence each juror gave for the chosen service, and the call path to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from copilot_lab.agents.base import Finding
from copilot_lab.graph import Graph
from sysai.config import option

DEFAULT_THRESHOLD = 0.7


@dataclass
class FusionConfig:
    # Tuned on the dev split only. metric and topology read the same source (metrics), so
    # together they count about as much as one independent juror.
    weights: dict = option(
        {"metric": 0.5, "log": 1.0, "trace": 1.5, "topology": 0.5, "memory": 1.0}, "prior weight per juror"
    )
    sharpen: float = option(2.0, "exponent applied to each juror's scores before pooling")
    threshold: float = option(DEFAULT_THRESHOLD, "abstain when the confidence p1/(p1+p2) is below this")


@dataclass
class Diagnosis:
    ranking: list[str]  # services, most likely root first
    shares: list[float]  # pooled share of each ranked service
    confidence: float
    abstain: bool
    explanation: list[str] = field(default_factory=list)
    symptoms: dict[str, str] = field(default_factory=dict)  # juror -> what it saw at the root (cpu, network, log, ...)

    def to_dict(self, top: int = 5) -> dict:
        return {
            "root_cause": self.ranking[0],
            "confidence": round(self.confidence, 4),
            "abstain": self.abstain,
            "symptoms": self.symptoms,
            "ranking": [{"service": s, "share": round(p, 4)} for s, p in zip(self.ranking[:top], self.shares[:top])],
            "explanation": self.explanation,
        }


def fuse(
    findings: list[Finding], weights: dict[str, float], sharpen: float = 2.0, threshold: float = DEFAULT_THRESHOLD
) -> tuple[np.ndarray, float, bool]:
    """Pooled shares over services, the confidence, and whether to abstain.

    Juror ``a`` contributes ``weights.get(a.agent, 1) × a.strength × shares_a`` where
    ``shares_a = scores_a**sharpen / sum(scores_a**sharpen)``; jurors with zero weight, zero
    strength or all-zero scores contribute nothing. The pooled vector is normalised to sum to 1
    (uniform if nobody contributed). Confidence = ``p1 / (p1 + p2)`` with p1 ≥ p2 the two largest
    pooled shares (1.0 with a single service); abstain when it is below `threshold`.
    """
    # BEGIN SOLUTION task4_3
    n = len(findings[0].scores)
    pooled = np.zeros(n)
    for finding in findings:
        w = weights.get(finding.agent, 1.0) * finding.strength
        powered = np.clip(finding.scores, 0, None) ** sharpen
        total = powered.sum()
        if w <= 0 or total <= 0 or not np.isfinite(total):
            continue
        pooled += w * powered / total
    if pooled.sum() <= 0:
        pooled = np.full(n, 1.0 / n)
    else:
        pooled = pooled / pooled.sum()
    first, second = (np.sort(pooled)[::-1].tolist() + [0.0])[:2]
    confidence = float(first / (first + second))
    return pooled, confidence, confidence < threshold
    # END SOLUTION


def diagnose(
    findings: list[Finding], names: list[str], graph: Graph | None, config: FusionConfig | None = None
) -> Diagnosis:
    """Fuse `findings` into a ranked, explained diagnosis."""
    config = config or FusionConfig()
    pooled, confidence, abstain = fuse(findings, config.weights, config.sharpen, config.threshold)
    order = [int(i) for i in np.lexsort((np.arange(len(pooled)), -pooled))]
    top = order[0]
    explanation = []
    for finding in findings:
        if finding.strength <= 0:
            continue
        rank = finding.ranking().index(top) + 1 if finding.scores[top] > 0 else None
        said = finding.evidence.get(top)
        where = f"ranks it #{rank}" if rank else "does not suspect it"
        explanation.append(f"{finding.agent}: {where}" + (f" — {said}" if said else ""))
    if graph is not None:
        explanation.append("call path: " + " → ".join(graph.path_to(top, pooled)))
    verdict = "abstain: confidence below threshold, ask a human" if abstain else "confident"
    explanation.append(f"{verdict} ({confidence:.2f} vs {config.threshold:.2f})")
    symptoms = {f.agent: f.fault_hint[top] for f in findings if top in f.fault_hint}
    return Diagnosis(
        [names[i] for i in order], [float(pooled[i]) for i in order], confidence, abstain, explanation, symptoms
    )
