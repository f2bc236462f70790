"""The topology agent: a personalised random walk over the dependency graph, as gala-inference
(and MicroRCA, WWW'20) rank root causes.

Symptoms (latency, errors) propagate *upstream* (callers of a slow service are slow), so a
walker that starts at services with anomalous symptoms and prefers stepping to anomalous
**callees** drifts down to the service that explains the others, and stays there. The walk's
stationary visit share is the score.

Edges, weighted by the anomaly of the node stepped to: caller → callee (1), callee → caller
(``back``, small, lets the walker leave a dead end), co-located services (``host``), and a
self-loop weighted by how much more anomalous a node is than its callees.
"""

from __future__ import annotations

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView


def personalized_pagerank(
    weights: np.ndarray, personalization: np.ndarray, damping: float = 0.85, iterations: int = 100, tol: float = 1e-10
) -> np.ndarray:
    """Stationary distribution of a walk that follows `weights` (row = from) with probability
    `damping` and restarts at `personalization` otherwise. Rows without out-weight restart.

    Power iteration on ``π ← (1 − d)·v + d·(π P + (π · dangling)·v)``, where P is `weights`
    row-normalised and v the normalised personalisation; returns π summing to 1.
    """
    # BEGIN SOLUTION task4_2
    n = len(personalization)
    v = np.asarray(personalization, dtype=float)
    v = v / v.sum() if v.sum() > 0 else np.full(n, 1.0 / n)
    out = weights.sum(axis=1)
    dangling = out <= 0
    P = np.divide(weights, out[:, None], out=np.zeros_like(weights, dtype=float), where=~dangling[:, None])
    pi = v.copy()
    for _ in range(iterations):
        new = (1 - damping) * v + damping * (pi @ P + pi[dangling].sum() * v)
        new /= new.sum()
        if np.abs(new - pi).sum() < tol:
            return new
        pi = new
    return pi
    # END SOLUTION


SYMPTOMS = ("latency", "error")  # what propagates along calls; resource metrics do not


@AGENTS.register("topology", default=True)
class TopologyAgent(Agent):
    back = 0.2
    host = 0.3
    floor = 2.0  # z below this is noise: it neither attracts nor restarts the walker

    def rank(self, view: CaseView) -> Finding:
        a = view.metric_anomaly(only=SYMPTOMS)
        g = view.graph
        if a is None or g is None:
            return Finding.empty("topology", view.n)
        a = np.clip(a - self.floor, 0, None)
        if a.sum() <= 0:
            return Finding("topology", np.zeros(view.n), 0.0)
        adj = g.adjacency.astype(float)
        w = adj * a[None, :] + self.back * adj.T * a[None, :] + self.host * g.colocated * a[None, :]
        callee_max = np.where(g.adjacency, a[None, :], 0).max(axis=1)
        w[np.diag_indices(view.n)] = np.clip(a - callee_max, 0, None)
        pi = personalized_pagerank(w, a)
        score = pi * (a > 0)
        evidence = {}
        for i in np.argsort(-score)[:3]:
            if score[i] > 0:
                path = " → ".join(g.path_to(int(i), a))
                evidence[int(i)] = f"walk share {pi[i]:.2f}; anomaly path {path}"
        return Finding("topology", score, saturate(float(a.max()), 10.0), evidence)
