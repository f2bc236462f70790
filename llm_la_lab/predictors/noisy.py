"""Noisy: the true length times a log-normal error, ``output · exp(N(0, σ²))``.

σ = 0.5 puts about two thirds of the guesses within ×0.6…×1.65 of the truth — roughly the
spread reported for learned output-length predictors. Errors are drawn in arrival order from a
seeded stream, so every policy in one comparison sees the same guesses for the same requests.
"""

from __future__ import annotations

import math

from sysai.seeding import py_random

from llm_la_lab.predictors.base import PREDICTORS, Predictor


@PREDICTORS.register("noisy")
class Noisy(Predictor):
    def __init__(self, seed: int = 0, sigma: float = 0.5):
        super().__init__(seed, sigma)
        self.rng = py_random(seed, "noisy-predictor")

    def predict(self, request):
        return max(1, round(request.output * math.exp(self.rng.gauss(0.0, self.sigma))))
