"""n-sigma anomaly scoring, the robust way (gala-anteater's first detector; BARO's scaler).

Given the anomaly-detection time ``t_a``, every series is split into a **baseline** window
before ``t_a`` and a **test** window from ``t_a`` on. A series is anomalous when the test mean
sits many "sigmas" from the baseline, where centre and spread are the *median* and the
*median absolute deviation* (×1.4826, so it equals σ for Gaussian noise): one outlier in the
baseline cannot inflate the spread the way it inflates a standard deviation.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from copilot_lab.graph import Graph
from copilot_lab.telemetry import Telemetry

MAD_TO_SIGMA = 1.4826
MEANAD_TO_SIGMA = 1.2533


def robust_z(baseline: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Robust z-score of the test window against the baseline, along axis 0 (NaNs ignored).

    ``(mean(test) - median(baseline)) / spread`` with

    * ``spread = 1.4826 · MAD(baseline)``;
    * MAD = 0 (sparse series: error counts that are mostly zero) → ``1.2533 · mean absolute
      deviation`` from the median instead (the same σ for Gaussian noise);
    * a **floor** of ``0.01 · |median(baseline)| + 1e-9``;
    * a **flat baseline** (MAD and mean absolute deviation both 0) has a spread of
      ``0.01 · max(|median(baseline)|, |mean(test)|) + 1e-9`` instead, so zero spread cannot turn a
      tiny change into "+1e9σ": against a flat baseline |z| is at most about 100 (a change of the
      series' whole size is 100σ, a 1 % change 1σ);
    * NaNs are ignored; a series with no finite value in either window scores 0.
    """
    # BEGIN SOLUTION task4_1
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected
        centre = np.nanmedian(baseline, axis=0)
        deviation = np.abs(baseline - centre)
        spread = MAD_TO_SIGMA * np.nanmedian(deviation, axis=0)
        spread = np.where(spread > 0, spread, MEANAD_TO_SIGMA * np.nanmean(deviation, axis=0))
        level = np.nanmean(test, axis=0)
        floor = np.where(spread > 0, np.abs(centre), np.maximum(np.abs(centre), np.abs(level)))
        spread = np.maximum(spread, 0.01 * floor + 1e-9)
        z = (level - centre) / spread
    return np.where(np.isfinite(z), z, 0.0)
    # END SOLUTION


def variance_z(baseline: np.ndarray, test: np.ndarray) -> np.ndarray:
    """How far the test window's spread moved from the baseline's, as a z-score (axis 0, NaNs ignored).

    A fault can leave a metric's level alone and change how much it varies (a flapping link, a
    lock that sometimes blocks, PyRCA's "noise weight" fault). Compare

    * the **baseline spread** ``s_b``: 1.4826 · MAD around the baseline median, with the same
      MAD = 0 fall-back (1.2533 · mean absolute deviation) and the same floors as
      :func:`robust_z`;
    * the **test spread** ``s_t``: the standard deviation of the test window around its own mean
      (``ddof=1``), so a level shift alone does not look like a variance change — and outliers
      in the test window, which are what a variance fault produces, do count;

    on a log scale: ``z = ln(s_t / s_b) / se`` with ``se = sqrt(1/(2·n_t) + 1.35/n_b)``, the
    standard error of a log standard deviation from ``n_t`` test values plus that of a log MAD
    from ``n_b`` baseline values (the MAD is a less efficient estimator: 1.35 instead of 0.5).
    Positive when the spread grew, negative when it shrank. Fewer than 2 finite test values or
    fewer than 2 finite baseline values → 0 (no evidence, not "no change").
    """
    # BEGIN SOLUTION task4_5
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n_b = np.sum(np.isfinite(baseline), axis=0)
        n_t = np.sum(np.isfinite(test), axis=0)
        centre = np.nanmedian(baseline, axis=0)
        deviation = np.abs(baseline - centre)
        s_b = MAD_TO_SIGMA * np.nanmedian(deviation, axis=0)
        s_b = np.where(s_b > 0, s_b, MEANAD_TO_SIGMA * np.nanmean(deviation, axis=0))
        level = np.nanmean(test, axis=0)
        floor = np.where(s_b > 0, np.abs(centre), np.maximum(np.abs(centre), np.abs(level)))
        s_b = np.maximum(s_b, 0.01 * floor + 1e-9)
        s_t = np.nanstd(test, axis=0, ddof=1)
        s_t = np.maximum(s_t, 1e-12)
        se = np.sqrt(1.0 / (2.0 * np.maximum(n_t, 1)) + 1.35 / np.maximum(n_b, 1))
        z = np.log(s_t / s_b) / se
    return np.where(np.isfinite(z) & (n_t >= 2) & (n_b >= 2), z, 0.0)
    # END SOLUTION


UP_WORDS = (
    "latency",
    "lat",
    "p50",
    "p90",
    "p95",
    "p99",
    "duration",
    "rt",
    "error",
    "err",
    "fail",
    "cpu",
    "mem",
    "disk",
    "net",
    "retrans",
    "timeout",
    "gc",
)
DOWN_WORDS = ("availability", "avail", "success", "ok", "apdex", "uptime")
BOTH_WORDS = ("throughput", "qps", "rps", "requests", "req", "count", "tps")


def direction(kind: str) -> int:
    """+1 when only a rise of metric `kind` is a symptom (latency, errors, resource use), -1 when
    only a drop is (availability, success rate), 0 when both are (throughput: a drop or a surge;
    and any name the lab does not know). Matched on the words of the name (``latency-50``,
    ``cpu_usage`` → latency, cpu)."""
    words = [w for w in re.split(r"[^a-z0-9]+", kind.lower()) if w]
    if any(w in BOTH_WORDS for w in words):
        return 0
    if any(w in DOWN_WORDS for w in words):
        return -1
    if any(w in UP_WORDS for w in words):
        return 1
    return 0


def one_sided(z: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """(…, K) signed z → how much each is a symptom (≥ 0), by each kind's :func:`direction`."""
    d = np.array([direction(k) for k in kinds])
    return np.where(d == 0, np.abs(z), np.clip(z * np.where(d == 0, 1, d), 0, None))


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
    def over_rows(
        cls,
        telemetry: Telemetry,
        graph: Graph | None,
        anomaly_time: float,
        baseline_rows: int = 60,
        test_rows: int = 30,
    ) -> "CaseView":
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

        Each kind counts in its :func:`direction`: latency, errors and resource use upwards (a
        service getting *faster* is rarely the root of an incident), availability downwards,
        throughput and unknown names both ways.
        """
        z = self.metric_z()
        if z is None:
            return None
        kinds = self.telemetry.kinds
        chosen = [i for i, k in enumerate(kinds) if only is None or any(o in k for o in only)] or list(
            range(len(kinds))
        )
        return one_sided(z, kinds)[:, chosen].max(axis=1)

    def metric_variance_z(self) -> np.ndarray | None:
        """(S, K) :func:`variance_z` of every metric series (None without metrics)."""
        if "variance_z" not in self._cache:
            tel = self.telemetry
            if tel.metrics is None:
                self._cache["variance_z"] = None
            else:
                base, test = self.windows(tel.time)
                self._cache["variance_z"] = variance_z(tel.metrics[base], tel.metrics[test])
        return self._cache["variance_z"]
