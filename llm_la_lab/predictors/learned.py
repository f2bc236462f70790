"""Learned: quantile regression of output length on prompt length, fitted on the trace's first requests.

What a deployed router can actually do (cf. the learned predictors of S³, Jin et al. NeurIPS'23,
and "learning to rank" schedulers, Fu et al. 2024): look at the requests that already finished
and predict a new one's output from what it knows at arrival — here the prompt length. The fit is
a binned quantile regression: prompt lengths are cut into ``bins`` equal-count bins (by the
training prompts' quantiles) and each bin predicts the ``quantile`` of the outputs seen in it.
``train_fraction`` of the workload (its first requests, in arrival order) is the training set;
those requests are still served and measured like the others. Online (the live proxy), it refits
on the last ``history`` replies every ``refit_every`` replies; before the first fit it predicts
128 tokens.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sysai.config import option

from llm_la_lab.predictors.base import PREDICTORS, Predictor


@dataclass
class LearnedConfig:
    train_fraction: float = option(0.2, "share of the workload (its first requests) the model is fitted on")
    bins: int = option(8, "equal-count prompt-length bins")
    quantile: float = option(0.5, "quantile of the outputs in a bin that it predicts (0.5 = median)")
    refit_every: int = option(100, "online: refit after this many observed replies")
    history: int = option(5000, "online: fit on at most this many of the latest replies")

    def __post_init__(self) -> None:
        if not 0 < self.train_fraction <= 1 or self.bins < 1 or not 0 < self.quantile < 1:
            raise ValueError("train_fraction must be in (0, 1], bins ≥ 1 and quantile in (0, 1)")
        if self.refit_every < 1 or self.history < 1:
            raise ValueError("refit_every and history must be ≥ 1")


@PREDICTORS.register("learned", default=True)
class Learned(Predictor):
    Config = LearnedConfig

    def __init__(self, seed: int = 0, config: LearnedConfig | None = None):
        super().__init__(seed, config)
        self.edges = np.array([])
        self.values = np.array([128.0])
        self.seen: deque[tuple[int, int]] = deque(maxlen=self.config.history)
        self.since_fit = 0

    def fit(self, prompt, output):
        n = max(1, int(len(prompt) * self.config.train_fraction))
        self._fit(np.asarray(prompt[:n], dtype=float), np.asarray(output[:n], dtype=float))

    def observe(self, prompt, output):
        self.seen.append((prompt, output))
        self.since_fit += 1
        if self.since_fit >= self.config.refit_every:
            self.since_fit = 0
            pairs = np.asarray(self.seen, dtype=float)
            self._fit(pairs[:, 0], pairs[:, 1])

    def _fit(self, prompt: np.ndarray, output: np.ndarray) -> None:
        cfg = self.config
        if not len(prompt):
            return
        edges = np.unique(np.quantile(prompt, np.linspace(0, 1, cfg.bins + 1)[1:-1]))
        bins = np.searchsorted(edges, prompt, side="right")
        overall = float(np.quantile(output, cfg.quantile))
        self.edges = edges
        self.values = np.array([float(np.quantile(output[bins == b], cfg.quantile)) if (bins == b).any() else overall
                                for b in range(len(edges) + 1)])

    def predict(self, request):
        return max(1, round(float(self.values[np.searchsorted(self.edges, request.prompt, side="right")])))
