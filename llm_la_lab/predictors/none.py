"""None: no information — every request is predicted to produce the same number of tokens.

Short-first degenerates to FIFO and token-aware policies see only prompt lengths.
"""

from __future__ import annotations

from llm_la_lab.predictors.base import PREDICTORS, Predictor

CONSTANT_TOKENS = 128


@PREDICTORS.register("none")
class NoPrediction(Predictor):
    def predict(self, request):
        return CONSTANT_TOKENS
