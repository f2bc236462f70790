"""Published baselines, run from their own package: RCAEval's BARO and n-sigma (PyPI ``RCAEval``).

* **n-sigma**: every metric column is standardised against its normal period (mean, std) and
  scored by its largest z in the anomalous period.
* **BARO** (Pham et al., FSE'24): the same with a robust scaler (median, IQR), so outliers in
  the normal period do not hide a change.

Both rank metric *columns*; a service ranks where its first column ranks (RCAEval's
service-level AC@k). They score rises only (``max(z)``), as published.

RCAEval 1.8's ``RCAEval.e2e`` package imports its RCD methods eagerly on Python 3.11 (they need
causal-learn, torch, …, the ``rcd`` extra). We do not use RCD, so :func:`_import_rcaeval`
registers empty placeholders for those three modules before importing; ``baro`` and ``nsigma``
themselves are RCAEval's code, unchanged.
"""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np

from sysai.errors import UserError

BASELINES = ("baro", "nsigma")
_PLACEHOLDERS = ("rcd", "mmrcd", "torai")


def _import_rcaeval() -> dict:
    try:
        for name in _PLACEHOLDERS:
            key = f"RCAEval.e2e.{name}"
            if key not in sys.modules:
                placeholder = types.ModuleType(key)
                setattr(placeholder, name, None)
                sys.modules[key] = placeholder
        import RCAEval.e2e as e2e
        from RCAEval.e2e.baro import baro
    except ImportError as exc:
        raise UserError(f"the baselines need RCAEval: pip install RCAEval pandas scikit-learn ({exc})") from None
    return {"baro": baro, "nsigma": e2e.nsigma}


def available() -> bool:
    try:
        _import_rcaeval()
    except UserError:
        return False
    return True


def rank_services(
    method: str, time: np.ndarray, columns: list[str], values: np.ndarray, anomaly_time: float, services: list[str]
) -> list[int]:
    """Service indices ranked by RCAEval's `method` on a metrics table (columns `<service>_<metric>`)."""
    import pandas as pd

    func = _import_rcaeval()[method]
    frame = pd.DataFrame(values, columns=columns)
    frame.insert(0, "time", time)
    # empty cells: RCAEval's loaders fill forward then with 0; do the same so both see numbers
    frame = frame.ffill().fillna(0.0)
    # any dataset name other than None makes RCAEval drop the time column and constant columns
    ranked = func(frame, inject_time=anomaly_time, dataset="sysai")["ranks"]
    order: list[int] = []
    for column in ranked:
        service = column.rpartition("_")[0]
        if service in services and services.index(service) not in order:
            order.append(services.index(service))
    return order + [i for i in range(len(services)) if i not in order]


def sli_column(names: list[str], kinds: tuple[str, ...], cube: np.ndarray, entry: int | None) -> tuple[int, int]:
    """(service, kind) of the SLI: the entry's latency (else its first metric); without a known
    entry, a service called ``frontend``, else the first service."""
    s = entry if entry is not None else (names.index("frontend") if "frontend" in names else 0)
    present = [k for k in range(len(kinds)) if not np.isnan(cube[:, s, k]).all()]
    latency = [k for k in present if "lat" in kinds[k].lower()]
    return s, (latency or present or [0])[0]


def sli_correlation(view, band: float = 3.0) -> np.ndarray:
    """The classic operator's baseline: among the metrics that left their baseline band
    (|robust z| ≥ `band`), rank by |Pearson correlation| with the SLI over both windows; a
    service scores its best metric. Metrics inside the band rank after all of those, by |z|.
    The lab's own implementation (no package ships it), kept deliberately simple."""
    from copilot_lab.anomaly import robust_z

    tel = view.telemetry
    base, test = view.windows(tel.time)
    rows = base | test
    cube = tel.metrics[rows]
    s, k = sli_column(tel.names, tel.kinds, tel.metrics, view.graph.entry if view.graph is not None else None)
    sli = cube[:, s, k]
    z = np.abs(robust_z(tel.metrics[base], tel.metrics[test]))
    flat = cube.reshape(len(cube), -1)
    ok = np.isfinite(flat) & np.isfinite(sli)[:, None]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # absent series: NaN columns
        x = np.where(ok, flat, np.nan)
        xc = x - np.nanmean(x, axis=0)
        yc = np.where(ok, sli[:, None], np.nan) - np.nanmean(np.where(ok, sli[:, None], np.nan), axis=0)
        corr = np.nansum(xc * yc, axis=0) / np.sqrt(np.nansum(xc**2, axis=0) * np.nansum(yc**2, axis=0))
    corr = np.nan_to_num(np.abs(corr)).reshape(tel.metrics.shape[1:])
    corr[s, k] = 0.0  # the SLI itself
    score = np.where(z >= band, 1.0 + corr, np.minimum(z / band, 0.999) * 0.999)
    return score.max(axis=1)
