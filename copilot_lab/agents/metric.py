"""The metric agent: robust n-sigma scoring of every metric, in the spirit of gala-anteater and
BARO (FSE'24): a service is as suspicious as its most anomalous metric.

Strong on resource faults (CPU, memory, disk) whose signature sits *in* the root's own metrics;
weak on network faults, where the root's own metrics barely move and its callers look worse.
"""

from __future__ import annotations

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView


@AGENTS.register("metric")
class MetricAgent(Agent):
    def rank(self, view: CaseView) -> Finding:
        z = view.metric_z()
        if z is None:
            return Finding.empty("metric", view.n)
        score = view.metric_anomaly()
        kinds = view.telemetry.kinds
        evidence, hints = {}, {}
        for i in np.argsort(-score)[:5]:
            k = int(np.argmax(np.abs(z[i])))
            evidence[int(i)] = f"{kinds[k]} {z[i, k]:+.1f}σ"
            hints[int(i)] = kinds[k]
        return Finding("metric", score, saturate(float(score.max()), 10.0), evidence, hints)
