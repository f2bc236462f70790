"""Figures and raw CSVs of the experiments (matplotlib through sysai.plotting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sysai.plotting import color, figure
from sysai.results import write_csv

from llm_la_lab.metrics import latencies
from llm_la_lab.sim import SimRun


def write_request_csv(path: Path, runs: dict[str, SimRun]) -> Path:
    rows = []
    for policy, run in runs.items():
        lat = latencies(run.requests)
        for i, r in enumerate(run.requests):
            rows.append({"policy": policy, "id": r.id, "arrival_s": r.arrival, "prompt": r.prompt, "output": r.output,
                         "predicted": r.predicted, "replica": r.replica, "ttft_s": lat["ttft"][i],
                         "e2e_s": lat["e2e"][i],
                         "queue_s": lat["queue"][i], "preemptions": r.preemptions, "cached": r.cached,
                         "rejected": r.rejected})
    return write_csv(path, rows)


def compare_figures(out: Path, runs: dict[str, SimRun], predictor: str = "") -> list[Path]:
    """Latency CDFs, imbalance over time and per-replica load; titles name the predictor behind them."""
    by = f" (predictor {predictor})" if predictor else ""
    files = []
    path = out / "latency_cdf.png"
    with figure(path, title=f"Latency CDFs per policy{by}", xlabel="seconds (log)", ylabel="fraction of requests",
                ncols=2) as axes:
        for i, (policy, run) in enumerate(runs.items()):
            lat = latencies(run.requests)
            for ax, metric in zip(axes, ("e2e", "ttft")):
                values = np.sort(lat[metric][~np.isnan(lat[metric])])  # rejected requests have none
                ax.plot(np.maximum(values, 1e-3), np.arange(1, len(values) + 1) / len(values), label=policy,
                        color=color(i))
                ax.set_xscale("log")
                ax.set_title("E2E latency" if metric == "e2e" else "time to first token")
    files.append(path)
    path = out / "imbalance.png"
    with figure(path, title=f"Imbalance: CV of outstanding tokens across replicas{by}", xlabel="simulated time (s)",
                ylabel="std / mean", size=(8.0, 4.0)) as ax:
        for i, (policy, run) in enumerate(runs.items()):
            mean = run.outstanding.mean(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                cv = np.where(mean > 0, run.outstanding.std(axis=1) / mean, np.nan)
            ax.plot(run.sample_times, cv, label=policy, color=color(i), linewidth=1.2)
    files.append(path)
    for policy, run in runs.items():
        path = out / f"outstanding_{policy}.png"
        with figure(path, title=f"{policy}: outstanding tokens per replica{by}", xlabel="simulated time (s)",
                    ylabel="outstanding tokens", size=(8.0, 4.0)) as ax:
            for replica in range(run.outstanding.shape[1]):
                ax.plot(run.sample_times, run.outstanding[:, replica], linewidth=1.0, alpha=0.8)
        files.append(path)
    return files


def sweep_figure(path: Path, points: list[dict[str, Any]], x: str, xlabel: str, metric: str, ylabel: str) -> Path:
    predictors = ", ".join(sorted({str(p.get("predictor")) for p in points}))
    with figure(path, title=f"{ylabel} vs {xlabel} (predictor {predictors})", xlabel=xlabel, ylabel=ylabel) as ax:
        for i, policy in enumerate(dict.fromkeys(p["policy"] for p in points)):
            mine = sorted((p[x], p[metric]) for p in points if p["policy"] == policy)
            ax.plot([m[0] for m in mine], [m[1] for m in mine], marker="o", label=policy, color=color(i))
        ax.set_yscale("log")
    return path
