"""The metric agent: robust n-sigma scoring of every metric, in the spirit of gala-anteater and
BARO (FSE'24): a service is as suspicious as its most anomalous metric.

Per series it asks two questions of the test window against the baseline (plus n-sigma's
single-row **peak**, weighted 0.2): did the **level**
move (:func:`~copilot_lab.anomaly.robust_z`: median/MAD, BARO's robust scaler) and did the
**spread** move (:func:`~copilot_lab.anomaly.variance_z`: a fault that makes a metric flap leaves
its mean alone). The level counts in the metric's direction (latency up, availability down,
unknown names both ways); the spread counts when it grew (and, for names without a known
direction, when it shrank). A service scores its strongest series; the **onset** — the first
test row where the series leaves its baseline band — is reported as evidence and breaks near
ties in favour of the service that moved first (the root moves before its callers).

Strong on resource faults (CPU, memory, disk) whose signature sits *in* the root's own metrics;
weak on network faults, where the root's own metrics barely move and its callers look worse.
"""

from __future__ import annotations

import warnings

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView, direction, one_sided

VARIANCE_WEIGHT = 0.6  # tuned on the dev splits: a spread change is weaker evidence than a level change
PEAK_WEIGHT = 0.2  # tuned on the dev splits (PyRCA dev AC@1 0.85 → 0.89; own-world dev unchanged)
ONSET_BONUS = 0.05  # at most +5 % for the service that left its band first
BAND = 3.0  # |robust z| of a single row that counts as "left the baseline band"


def peaks(view: CaseView) -> np.ndarray | None:
    """(S, K) n-sigma's statistic: the largest single test row's distance from the baseline median,
    in baseline standard deviations (unsigned). Plain σ on purpose: on heavy-tailed noise the MAD
    understates the spread and every peak looks huge; the weight keeps a baseline outlier from
    mattering much."""
    tel = view.telemetry
    base, test = view.windows(tel.time)
    b, t = tel.metrics[base], tel.metrics[test]
    if len(t) == 0 or len(b) < 2:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(b, axis=0)
        spread = np.maximum(np.nan_to_num(np.nanstd(b, axis=0)), 0.01 * np.abs(np.nan_to_num(centre)) + 1e-9)
        return np.nan_to_num(np.nanmax(np.abs(t - centre) / spread, axis=0))


def onsets(view: CaseView) -> np.ndarray | None:
    """(S, K) index of the first test row whose value is ≥ BAND spreads from the baseline median
    (test length where it never is)."""
    tel = view.telemetry
    base, test = view.windows(tel.time)
    b, t = tel.metrics[base], tel.metrics[test]
    if len(t) == 0 or len(b) == 0:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # series absent in a window
        centre = np.nanmedian(b, axis=0)
        spread = 1.4826 * np.nanmedian(np.abs(b - centre), axis=0)
        spread = np.maximum(np.nan_to_num(spread), 0.01 * np.abs(np.nan_to_num(centre)) + 1e-9)
        out = np.abs(t - centre) / spread >= BAND
    first = np.where(out.any(axis=0), out.argmax(axis=0), len(t))
    return first


@AGENTS.register("metric", default=True)
class MetricAgent(Agent):
    def rank(self, view: CaseView) -> Finding:
        z = view.metric_z()
        if z is None:
            return Finding.empty("metric", view.n)
        kinds = view.telemetry.kinds
        vz = view.metric_variance_z()
        level = one_sided(z, kinds)
        unknown = np.array([direction(k) == 0 for k in kinds])[None, :]
        spread = VARIANCE_WEIGHT * np.where(unknown, np.abs(vz), np.clip(vz, 0, None))
        series = np.maximum(level, spread)
        peak = peaks(view)
        if peak is not None:  # counted only in the metric's direction (the level's sign decides)
            d = np.array([direction(k) for k in kinds])[None, :]
            series = np.maximum(series, PEAK_WEIGHT * peak * ((d == 0) | (np.sign(z) == d)))
        score = series.max(axis=1)
        first = onsets(view)
        if first is not None and score.max() > 0:
            strongest = series.argmax(axis=1)
            start = first[np.arange(view.n), strongest].astype(float)
            span = max(float(first.max()), 1.0)
            score = score * (1 + ONSET_BONUS * (1 - start / span))
        evidence, hints = {}, {}
        for i in np.argsort(-score, kind="stable")[:5]:
            k = int(series[i].argmax())
            if level[i, k] >= spread[i, k]:
                evidence[int(i)] = f"{kinds[k]} {z[i, k]:+.1f}σ"
            else:
                evidence[int(i)] = f"{kinds[k]} spread {'up' if vz[i, k] > 0 else 'down'} ({vz[i, k]:+.1f}σ)"
            if first is not None and first[i, k] < len(view.telemetry.time):
                evidence[int(i)] += f", from test row {int(first[i, k])}"
            hints[int(i)] = kinds[k]
        return Finding("metric", score, saturate(float(score.max()), 10.0), evidence, hints)
