"""The trace agent: latency attribution along call paths (the idea behind MicroRank / TraceRCA).

Every call is a client span in the caller wrapping the callee's server span, so each request's
time splits into

* **own work** of a service: its server span minus the client spans it opened;
* **wire time** of a call: the client span minus the callee's server span (network both ways,
  retransmission timeouts).

Per step the agent averages own work per service and wire time per edge, and scores their rise
with the robust z of :mod:`copilot_lab.anomaly`. A service is suspicious when its own work
rises, or when the wire time of the connections *touching it* rises (a network fault at one
service slows all its connections; a caller's other connections stay normal).

Blind to errors: code and configuration faults leave latency alone.
"""

from __future__ import annotations

import warnings

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView, robust_z


def parent_rows(span: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Row index of each span's parent (-1 when it has none in the data)."""
    order = np.argsort(span, kind="stable")
    pos = np.clip(np.searchsorted(span, parent, sorter=order), 0, len(span) - 1)
    rows = order[pos]
    return np.where((parent >= 0) & (span[rows] == parent), rows, -1)


def exclusive_ms(duration_ms: np.ndarray, span: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Each span's duration minus the durations of its child spans."""
    rows = parent_rows(span, parent)
    has = rows >= 0
    children = np.bincount(rows[has], weights=duration_ms[has], minlength=len(span))
    return np.maximum(duration_ms - children, 0.0)


def _per_step(view: CaseView, start: np.ndarray, value: np.ndarray, key: np.ndarray, keys: int, step_s: float):
    lo = view.anomaly_time - view.baseline_s
    keep = (start >= lo) & (start < view.anomaly_time + view.test_s)
    bins = int(np.ceil((view.baseline_s + view.test_s) / step_s))
    b = np.clip(((start[keep] - lo) // step_s).astype(int), 0, bins - 1)
    flat = b * keys + key[keep]
    total = np.bincount(flat, weights=value[keep], minlength=bins * keys)
    count = np.bincount(flat, minlength=bins * keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        series = (total / count).reshape(bins, keys)  # NaN where nothing was observed
    split = int(round(view.baseline_s / step_s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # keys without spans in a window
        return (
            robust_z(series[:split], series[split:]),
            np.nanmedian(series[:split], axis=0),
            np.nanmean(series[split:], axis=0),
        )


@AGENTS.register("trace", default=True)
class TraceAgent(Agent):
    step_s = 10.0

    def rank(self, view: CaseView) -> Finding:
        tr = view.telemetry.traces
        if tr is None or len(tr.span) == 0:
            return Finding.empty("trace", view.n)
        n = view.n
        keep = np.flatnonzero(
            (tr.start >= view.anomaly_time - view.baseline_s) & (tr.start < view.anomaly_time + view.test_s)
        )
        span, parent, start = tr.span[keep], tr.parent[keep], tr.start[keep]
        service, duration, client = tr.service[keep], tr.duration_ms[keep], tr.client[keep]
        server = ~client
        excl = exclusive_ms(duration, span, parent)
        work_z, work_before, work_after = _per_step(view, start[server], excl[server], service[server], n, self.step_s)
        rows = parent_rows(span, parent)
        call = server & (rows >= 0)
        call &= client[np.where(rows >= 0, rows, 0)]
        caller, callee = service[rows[call]], service[call]
        wire = duration[rows[call]] - duration[call]
        edges, edge = np.unique(caller * n + callee, return_inverse=True)  # only edges that occur
        edge_z, _, _ = _per_step(view, start[call], wire, edge, len(edges), self.step_s)
        edge_z = np.clip(edge_z, 0, None)
        src, dst = edges // n, edges % n
        touching = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
        total = np.bincount(src, weights=edge_z, minlength=n) + np.bincount(dst, weights=edge_z, minlength=n)
        wire_score = total / np.maximum(touching, 1)
        work = np.clip(work_z, 0, None)
        score = np.maximum(work, wire_score)
        evidence, hints = {}, {}
        for i in np.argsort(-score)[:5]:
            if score[i] <= 0:
                continue
            if work[i] >= wire_score[i]:
                evidence[int(i)] = f"own work {work_before[i]:.1f} → {work_after[i]:.1f} ms ({work_z[i]:+.1f}σ)"
                hints[int(i)] = "latency"
            else:
                evidence[int(i)] = f"wire time of its connections up {wire_score[i]:.1f}σ on average"
                hints[int(i)] = "network"
        return Finding("trace", score, saturate(float(score.max()), 10.0), evidence, hints)
