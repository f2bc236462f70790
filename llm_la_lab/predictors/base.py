"""The length-predictor extension point: a guess of a request's output tokens at arrival.

Load-aware routing and short-first ordering need to know how long a request will run before it
runs. Real systems use a small learned model (e.g. a BERT-size classifier over the prompt) or the
client's ``max_tokens``; here predictors range from perfect (``oracle``) through a tunable
multiplicative error (``noisy``) to no information at all (``none``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from sysai.registry import Registry

from llm_la_lab.request import Request


class Predictor(ABC):
    def __init__(self, seed: int = 0, sigma: float = 0.5):
        self.seed = seed
        self.sigma = sigma

    @abstractmethod
    def predict(self, request: Request) -> int:
        """Predicted output tokens (≥ 1); may use anything but `request.output` unless it is an oracle."""


PREDICTORS: Registry[type[Predictor]] = Registry("length predictor", package="llm_la_lab.predictors")


def make_predictor(name: str, seed: int = 0, sigma: float = 0.5) -> Predictor:
    if sigma < 0:
        from sysai.errors import UserError

        raise UserError(f"predictor sigma must be ≥ 0, got {sigma}")
    return PREDICTORS.get(name)(seed, sigma)
