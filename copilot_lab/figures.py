"""The evaluation's figures: accuracy per fault and method, memory learning curve, calibration."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np

from sysai.plotting import color, figure


def accuracy_per_fault(per_fault: dict, path: Path, metric: str = "ac1") -> Path:
    faults = list(per_fault)
    methods = list(next(iter(per_fault.values())))
    width = 0.8 / len(methods)
    with figure(path, title=f"{metric.upper()} per fault type", ylabel=metric.upper(), size=(12, 5)) as ax:
        x = np.arange(len(faults))
        for i, method in enumerate(methods):
            ax.bar(
                x + i * width - 0.4 + width / 2,
                [per_fault[f][method][metric] for f in faults],
                width,
                label=method,
                color=color(i),
            )
        ax.set_xticks(x, [f.replace("_", "\n") for f in faults])
        ax.set_ylim(0, 1.4)  # headroom: the legend goes above the bars
        ax.set_yticks(np.linspace(0, 1, 6))
    return path


def learning_curve(memory: dict, reference_ac1: float, path: Path) -> Path:
    """Accuracy on held-out cases vs the number of past cases the memory has resolved (frozen
    after n dev-split cases); the online running curves stay in results.json."""
    held = memory["held_out"]
    x = held["past_cases"]
    # the curves live at the top and on the left: the legend goes bottom right
    with (
        mpl.rc_context({"legend.loc": "lower right"}),
        figure(
            path,
            title="Experience memory: accuracy vs past resolved cases",
            xlabel="past resolved cases in memory",
            ylabel="share of held-out cases",
            size=(9, 5),
        ) as ax,
    ):
        ax.plot(x, held["multi_agent_memory_ac1"], marker="o", color=color(0), label="AC@1, coordinator + memory")
        ax.plot(x, held["multi_agent_skills_ac1"], marker="s", color=color(5), label="AC@1, + per-type juror skills")
        ax.plot(x, held["memory_alone_ac1"], marker="^", color=color(4), label="AC@1, memory juror alone")
        ax.plot(x, held["fault_type_accuracy"], marker="D", color=color(3), label="fault type named right")
        ax.plot(
            x,
            held["retrieval_precision"],
            marker="v",
            color=color(1),
            label="retrieval precision (fault type, k nearest)",
        )
        ax.axhline(reference_ac1, linestyle="--", color=color(2), label="AC@1, coordinator alone")
        ax.set_ylim(0, 1.05)
    return path


def calibration(calib: dict, path: Path) -> Path:
    bins = [b for b in calib["bins"] if b["cases"]]
    with figure(path, title="Coordinator calibration", xlabel="confidence", ylabel="accuracy") as ax:
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
        ax.plot(
            [b["mean_confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            color=color(0),
            label="multi_agent",
        )
        for b in bins:
            ax.annotate(
                str(b["cases"]),
                (b["mean_confidence"], b["accuracy"]),
                textcoords="offset points",
                xytext=(4, -14),
                fontsize=10,
            )
        ax.axvline(
            calib["threshold"],
            linestyle="--",
            color=color(3),
            label=f"abstain below {calib['threshold']:.1f} ({calib['abstain_rate']:.0%} of cases)",
        )
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
    return path
