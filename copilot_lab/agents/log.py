"""The log agent: template mining (Drain) plus bursts of new and error templates.

Every line in the baseline and test windows is reduced to its template. For each (template,
service) the agent compares the rate after the anomaly time with the rate before; WARN/ERROR
templates that burst — and above all templates never seen before — are suspicious. A line
names a culprit when one of its variables is a service ("upstream call to <*> failed" with
``cart``): the evidence is then credited to the service named, not to the one that wrote it.

Strong on code and configuration errors; silent on a CPU hog that writes nothing.
"""

from __future__ import annotations

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView
from copilot_lab.logparse import TemplateMiner

LEVEL_WEIGHT = {"ERROR": 1.0, "WARN": 0.6, "WARNING": 0.6}
NOVELTY = 2.0  # a template never seen in the baseline counts this much more


@AGENTS.register("log", default=True)
class LogAgent(Agent):
    def rank(self, view: CaseView) -> Finding:
        logs = view.telemetry.logs
        if logs is None or len(logs.message) == 0:
            return Finding.empty("log", view.n)
        base, test = view.windows(logs.time)
        names = {name: i for i, name in enumerate(view.names)}
        miner = TemplateMiner()
        counts: dict[tuple[int, int], list[int]] = {}  # (template, credited service) -> [base, test]
        templates = {}
        for k in np.flatnonzero(base | test):
            template = miner.add(logs.message[k])
            if template.level.upper() not in LEVEL_WEIGHT:
                continue
            mentioned = [names[v] for v in miner.wildcard_values(template, logs.message[k]) if v in names]
            credited = mentioned[0] if mentioned else int(logs.service[k])
            slot = counts.setdefault((template.id, credited), [0, 0])
            slot[1 if test[k] else 0] += 1
            templates[template.id] = template
        base_steps = max(view.baseline_s, 1.0)
        test_steps = max(view.test_s, 1.0)
        score = np.zeros(view.n)
        best: dict[int, tuple[float, str]] = {}
        for (tid, service), (before, after) in counts.items():
            rate_before = before / base_steps * 60
            rate_after = after / test_steps * 60
            burst = np.log((rate_after + 0.2) / (rate_before + 0.2))
            if burst <= np.log(2):
                continue
            template = templates[tid]
            contribution = burst * LEVEL_WEIGHT[template.level.upper()] * (NOVELTY if before == 0 else 1.0)
            score[service] += contribution
            if contribution > best.get(service, (0.0, ""))[0]:
                novel = "new " if before == 0 else ""
                best[service] = (contribution, f"{novel}{template.level} '{template.text}' ×{after} (before ×{before})")
        evidence = {i: text for i, (_, text) in best.items()}
        return Finding("log", score, saturate(float(score.max()), 5.0), evidence, {i: "log" for i in evidence})
