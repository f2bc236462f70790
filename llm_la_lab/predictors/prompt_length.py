"""Prompt length: output predicted as a fixed fraction of the prompt — the coarse proxy LLM-LA starts from.

Before any model is trained, a router knows one thing about a request's cost: its prompt. This
predictor says "long in, long out" (``ratio · prompt`` tokens, clipped to ``[1, cap]``). On chat
traces the correlation is weak, so it mostly orders requests by prefill work; it is the baseline
a learned predictor must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysai.config import option

from llm_la_lab.predictors.base import PREDICTORS, Predictor


@dataclass
class PromptLengthConfig:
    ratio: float = option(0.25, "predicted output tokens per prompt token")
    cap: int = option(2048, "largest prediction (a typical max_tokens)")

    def __post_init__(self) -> None:
        if not self.ratio > 0 or self.cap < 1:
            raise ValueError(f"ratio must be > 0 and cap ≥ 1 (got {self.ratio}, {self.cap})")


@PREDICTORS.register("prompt_length")
class PromptLength(Predictor):
    Config = PromptLengthConfig

    def predict(self, request):
        return int(min(self.config.cap, max(1, round(self.config.ratio * request.prompt))))
