"""n-sigma anomaly scoring, the robust way (gala-anteater's first detector; BARO's scaler).

Given the anomaly-detection time ``t_a``, every series is split into a **baseline** window
before ``t_a`` and a **test** window from ``t_a`` on. A series is anomalous when the test mean
sits many "sigmas" from the baseline, where centre and spread are the *median* and the
*median absolute deviation* (×1.4826, so it equals σ for Gaussian noise): one outlier in the
baseline cannot inflate the spread the way it inflates a standard deviation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from copilot_lab.graph import Graph
from copilot_lab.telemetry import Telemetry

MAD_TO_SIGMA = 1.4826
MEANAD_TO_SIGMA = 1.2533


def robust_z(baseline: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Robust z-score of the test window against the baseline, along axis 0 (NaNs ignored).

    ``(mean(test) - median(baseline)) / (1.4826 · MAD(baseline))``. Sparse series (error counts
    that are mostly zero) have MAD = 0: then the spread is 1.2533 × the mean absolute deviation
    instead (the same σ for Gaussian noise). It never goes below 1 % of the baseline's magnitude
    (and 1e-9), so a flat series does not divide by zero. No finite values in a window → 0.
    """
    # BEGIN SOLUTION task4_1
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected
        centre = np.nanmedian(baseline, axis=0)
        deviation = np.abs(baseline - centre)
        spread = MAD_TO_SIGMA * np.nanmedian(deviation, axis=0)
        spread = np.where(spread > 0, spread, MEANAD_TO_SIGMA * np.nanmean(deviation, axis=0))
        spread = np.maximum(spread, 0.01 * np.abs(centre) + 1e-9)
        level = np.nanmean(test, axis=0)
        z = (level - centre) / spread
    return np.where(np.isfinite(z), z, 0.0)
    # END SOLUTION


@dataclass
class CaseView:
    """One diagnosis problem: the telemetry, what is known of the graph, and the anomaly time.

    Derived quantities several agents share (the metric z-scores) are computed once, lazily.
    """

    telemetry: Telemetry
    graph: Graph | None
    anomaly_time: float
    baseline_s: float = 600.0
    test_s: float = 300.0
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def over_rows(cls, telemetry: Telemetry, graph: Graph | None, anomaly_time: float,
                  baseline_rows: int = 60, test_rows: int = 30) -> "CaseView":
        """A view whose windows are counted in metric rows, so that any time unit works
        (seconds, ms, minutes): `baseline_rows` before the anomaly time, `test_rows` from it."""
        diffs = np.diff(telemetry.time)
        step = float(np.median(diffs)) if len(diffs) else 1.0
        # half a step of slack: a row exactly `baseline_rows` steps back is still in
        return cls(telemetry, graph, anomaly_time, (baseline_rows + 0.5) * step, (test_rows - 0.5) * step)

    @property
    def names(self) -> list[str]:
        return self.telemetry.names

    @property
    def n(self) -> int:
        return len(self.telemetry.names)

    def windows(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (baseline, test) over `times`."""
        base = (times >= self.anomaly_time - self.baseline_s) & (times < self.anomaly_time)
        test = (times >= self.anomaly_time) & (times < self.anomaly_time + self.test_s)
        return base, test

    def metric_z(self) -> np.ndarray | None:
        """(S, K) robust z-score of every metric series (None without metrics)."""
        if "metric_z" not in self._cache:
            tel = self.telemetry
            if tel.metrics is None:
                self._cache["metric_z"] = None
            else:
                base, test = self.windows(tel.time)
                self._cache["metric_z"] = robust_z(tel.metrics[base], tel.metrics[test])
        return self._cache["metric_z"]

    def metric_anomaly(self, only: tuple[str, ...] | None = None) -> np.ndarray | None:
        """(S,) how anomalous each service looks in its metrics: its largest one-sided z
        (over the metric kinds in `only`, when given and present).

        Throughput counts both ways (a drop is as telling as a surge); everything else only
        upwards (a service getting *faster* is rarely the root of an incident).
        """
        z = self.metric_z()
        if z is None:
            return None
        kinds = self.telemetry.kinds
        signed = np.where(np.array([k == "throughput" for k in kinds])[None, :], np.abs(z), z)
        chosen = [i for i, k in enumerate(kinds) if only is None or k in only] or list(range(len(kinds)))
        return np.clip(signed[:, chosen], 0, None).max(axis=1)
