"""Noisy: the true length times a log-normal error, ``output · exp(N(0, σ²))``.

σ = 0.5 puts about two thirds of the guesses within ×0.6…×1.65 of the truth — roughly the
spread reported for learned output-length predictors. Errors are drawn in arrival order from a
seeded stream, so every policy in one comparison sees the same guesses for the same requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sysai.config import option
from sysai.seeding import py_random

from llm_la_lab.predictors.base import PREDICTORS, Predictor


@dataclass
class NoisyConfig:
    sigma: float = option(0.5, "log-normal error σ (0 = the oracle)")

    def __post_init__(self) -> None:
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be ≥ 0, got {self.sigma}")


@PREDICTORS.register("noisy")
class Noisy(Predictor):
    Config = NoisyConfig

    def __init__(self, seed: int = 0, config: NoisyConfig | None = None):
        super().__init__(seed, config)
        self.rng = py_random(seed, "noisy-predictor")

    def predict(self, request):
        return max(1, round(request.output * math.exp(self.rng.gauss(0.0, self.config.sigma))))
