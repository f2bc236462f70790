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
            ax.bar(x + i * width - 0.4 + width / 2, [per_fault[f][method][metric] for f in faults], width,
                   label=method, color=color(i))
        ax.set_xticks(x, [f.replace("_", "\n") for f in faults])
        ax.set_ylim(0, 1.4)  # headroom: the legend goes above the bars
        ax.set_yticks(np.linspace(0, 1, 6))
    return path


def learning_curve(memory: dict, reference_ac1: float, path: Path) -> Path:
    """Accuracy vs the number of past cases the memory has resolved: on held-out cases with the
    memory frozen after n dev-split cases (markers), and online from an empty memory (lines)."""
    held = memory["held_out"]
    precision = [np.nan if p is None else p for p in memory["retrieval_precision"]]
    episodes = np.arange(1, len(precision) + 1)
    # the legend is long: keep it off the curves, which live at the top and bottom
    with mpl.rc_context({"legend.loc": "center right", "legend.fontsize": 9}), \
            figure(path, title="Experience memory: accuracy vs past resolved cases", xlabel="past resolved cases in memory",
                ylabel="share of cases", size=(9, 5)) as ax:
        x = held["past_cases"]
        ax.plot(x, held["multi_agent_memory_ac1"], marker="o", color=color(0), label="AC@1, coordinator + memory (held out)")
        ax.plot(x, held["multi_agent_skills_ac1"], marker="s", color=color(5), label="AC@1, + per-type skills (held out)")
        ax.plot(x, held["memory_alone_ac1"], marker="^", color=color(4), label="AC@1, memory juror alone (held out)")
        ax.plot(x, held["fault_type_accuracy"], marker="D", color=color(3), label="fault type named right (held out)")
        ax.plot(episodes, memory["learning_curve_memory_alone_ac1"], color=color(4), alpha=0.4, linewidth=1,
                label="AC@1, memory alone, online from empty (running)")
        ax.plot(episodes, precision, color=color(1), alpha=0.5, linewidth=1, label="retrieval precision, online (running)")
        ax.axhline(reference_ac1, linestyle="--", color=color(2), label="AC@1, coordinator alone")
        ax.set_ylim(0, 1.05)
    return path


def calibration(calib: dict, path: Path) -> Path:
    bins = [b for b in calib["bins"] if b["cases"]]
    with figure(path, title="Coordinator calibration", xlabel="confidence", ylabel="accuracy") as ax:
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
        ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                color=color(0), label="multi_agent")
        for b in bins:
            ax.annotate(str(b["cases"]), (b["mean_confidence"], b["accuracy"]), textcoords="offset points",
                        xytext=(4, -14), fontsize=10)
        ax.axvline(calib["threshold"], linestyle="--", color=color(3),
                   label=f"abstain below {calib['threshold']:.1f} ({calib['abstain_rate']:.0%} of cases)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
    return path
