"""Oracle: the true output length (an upper bound on what prediction can buy)."""

from __future__ import annotations

from llm_la_lab.predictors.base import PREDICTORS, Predictor


@PREDICTORS.register("oracle")
class Oracle(Predictor):
    def predict(self, request):
        return request.output
