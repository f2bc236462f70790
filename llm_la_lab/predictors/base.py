"""The length-predictor extension point: a guess of a request's output tokens at arrival.

Load-aware routing and short-first ordering need to know how long a request will run before it
runs. Real systems use a small learned model (e.g. a BERT-size classifier over the prompt, or a
regression on features the router sees) or the client's ``max_tokens``; here predictors range from
perfect (``oracle``, an upper bound nobody has) through a tunable multiplicative error (``noisy``),
a model fitted on the trace's first requests (``learned``) and the prompt length as a coarse
proxy (``prompt_length``) to no information at all (``none``).

A predictor may be *fitted*: :meth:`Predictor.fit` gets the (prompt, output) pairs of a training
prefix of the workload (the requests a deployed router would have seen finish before) — the
experiments call it before predicting; the live proxy instead reports every reply to
:meth:`Predictor.observe`, so a learned predictor keeps learning while it serves. Tuning knobs
sit in a ``Config`` dataclass, like policies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from sysai.errors import UserError
from sysai.registry import Registry

from llm_la_lab.request import Request

class Predictor(ABC):
    Config: ClassVar[type | None] = None

    def __init__(self, seed: int = 0, config: Any = None):
        self.seed = seed
        self.config = config if config is not None or self.Config is None else self.Config()

    def fit(self, prompt: np.ndarray, output: np.ndarray) -> None:
        """Learn from (prompt, output) token counts of requests seen before (no-op unless learned)."""

    def observe(self, prompt: int, output: int) -> None:
        """One more request finished with `output` tokens (online learning, as the live proxy sees replies)."""

    @abstractmethod
    def predict(self, request: Request) -> int:
        """Predicted output tokens (≥ 1); may use anything but `request.output` unless it is an oracle."""


PREDICTORS: Registry[type[Predictor]] = Registry("length predictor", package="llm_la_lab.predictors")


def default_predictor() -> str:
    """The registry's default predictor (``register(..., default=True)``): a realistic one, not the oracle."""
    defaults = PREDICTORS.defaults()
    return defaults[0] if defaults else PREDICTORS.names()[0]


def make_predictor(name: str | None, seed: int = 0, sigma: float | None = None,
                   options: Mapping[str, Any] | None = None) -> Predictor:
    """The predictor registered as `name`; `sigma` (the ``--sigma`` option) goes to predictors that have one."""
    cls = PREDICTORS.get(name or default_predictor())
    options = dict(options or {})
    if sigma is not None:
        if not sigma >= 0:
            raise UserError(f"predictor sigma must be ≥ 0, got {sigma}")
        if cls.Config is not None and "sigma" in cls.Config.__dataclass_fields__:
            options.setdefault("sigma", sigma)
    return PREDICTORS.create(name or default_predictor(), seed=seed, options=options)
