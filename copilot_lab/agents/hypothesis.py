"""The hypothesis-test agent: is a service's change *explained by* the services it depends on?

Regression-based hypothesis testing on the call graph, after PyRCA's HT analyzer and CIRCA
(Li et al., KDD'22): a fault in a callee shows in its callers, so a caller's metric moving is
no evidence against the caller *if its dependencies moved with it*. For every service ``i`` and
metric kind, fit on the baseline window a ridge regression of its series on its **causes**'
series of the same kind (and their squares, for the non-linear links: a queue grows with the
square of the load) — the causes are the given ``causal_edges``, else its callees. Then score
the **residual** in the test window: the part of the change its causes do not explain.

* root: its own mechanism changed, so its residual leaves the baseline band (a level shift, a
  spread change — :func:`~copilot_lab.anomaly.robust_z`, :func:`~copilot_lab.anomaly.variance_z`);
* a caller of the root: its residual stays normal (its change is "explained");
* a service without causes: its residual is its series (plain n-sigma).

The baseline residuals are leave-one-out residuals (``r / (1 − h)``), so a service with many
causes is not rewarded for over-fitting its baseline. Needs a graph; without one it reports
nothing and the coordinator leans on the others.

The fit is linear: quadratic terms fitted on a baseline extrapolate wildly under a strong
fault (on the PyRCA dev cases AC@1 fell from 0.87 to 0.44 with them).

It is not a default juror (``--agent hypothesis`` adds it): on the dev splits it reaches AC@1 ≈ 0.87
alone on PyRCA cases, but adds nothing to a jury that already has the topology agent's walk
(best fusion weight 0 on both dev splits) — a measured result, kept here to be compared.
"""

from __future__ import annotations

import warnings

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding, saturate
from copilot_lab.anomaly import CaseView, direction, one_sided, robust_z, variance_z

RIDGE = 1.0  # on standardised features
VARIANCE_WEIGHT = 0.6


def _filled(x: np.ndarray, fill: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, fill)


def residuals(
    y_base: np.ndarray, y_test: np.ndarray, X_base: np.ndarray, X_test: np.ndarray, ridge: float = RIDGE
) -> tuple[np.ndarray, np.ndarray]:
    """(leave-one-out baseline residuals, test residuals) of a ridge fit of y on X (+ intercept)."""
    mu, sd = X_base.mean(axis=0), X_base.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    A = np.column_stack([np.ones(len(X_base)), (X_base - mu) / sd])
    B = np.column_stack([np.ones(len(X_test)), (X_test - mu) / sd])
    penalty = ridge * np.eye(A.shape[1])
    penalty[0, 0] = 0.0  # never shrink the intercept
    inverse = np.linalg.pinv(A.T @ A + penalty)
    beta = inverse @ A.T @ y_base
    hat = np.einsum("ij,jk,ik->i", A, inverse, A)
    loo = (y_base - A @ beta) / np.maximum(1 - hat, 0.05)
    return loo, y_test - B @ beta


@AGENTS.register("hypothesis")
class HypothesisAgent(Agent):
    def rank(self, view: CaseView) -> Finding:
        tel, g = view.telemetry, view.graph
        if tel.metrics is None or g is None:
            return Finding.empty("hypothesis", view.n)
        base, test = view.windows(tel.time)
        if base.sum() < 3 or test.sum() < 1:
            return Finding.empty("hypothesis", view.n)
        effects = g.effects()
        cube_b, cube_t = tel.metrics[base], tel.metrics[test]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fill = np.nanmedian(cube_b, axis=0)  # (S, K): an empty cell is "as usual"
        series = np.zeros((view.n, len(tel.kinds)))
        explained = np.zeros((view.n, len(tel.kinds)), dtype=bool)
        for k, kind in enumerate(tel.kinds):
            yb_all = _filled(cube_b[:, :, k], fill[:, k])
            yt_all = _filled(cube_t[:, :, k], fill[:, k])
            present = np.isfinite(fill[:, k])
            for i in np.flatnonzero(present):
                causes = [j for j in np.flatnonzero(effects[:, i]) if present[j] and j != i]
                yb, yt = yb_all[:, i], yt_all[:, i]
                if causes and len(yb) > 2 * len(causes) + 2:
                    Xb, Xt = yb_all[:, causes], yt_all[:, causes]
                    rb, rt = residuals(yb, yt, Xb, Xt)
                    explained[i, k] = True
                else:
                    rb, rt = yb, yt
                z = robust_z(rb[:, None], rt[:, None])
                vz = variance_z(rb[:, None], rt[:, None])
                level = one_sided(z, (kind,))[0]
                spread = VARIANCE_WEIGHT * (abs(vz[0]) if direction(kind) == 0 else max(vz[0], 0.0))
                series[i, k] = max(level, spread)
        score = series.max(axis=1)
        evidence = {}
        for i in np.argsort(-score, kind="stable")[:3]:
            if score[i] > 0:
                k = int(series[i].argmax())
                what = "not explained by its dependencies" if explained[i, k] else "no dependencies to explain it"
                evidence[int(i)] = f"{tel.kinds[k]} residual {series[i, k]:.1f}σ ({what})"
        return Finding("hypothesis", score, saturate(float(score.max()), 10.0), evidence)
