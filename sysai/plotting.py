"""One figure style for every lab: readable on a projector, colour-blind safe.

Uses matplotlib's object API (no pyplot, no backend switch), so nothing global changes and it
works the same in a terminal, a test and a notebook::

    with figure(out / "cdf.png", title="E2E latency", xlabel="s", ylabel="CDF") as ax:
        ax.plot(x, y, label="round_robin")
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

STYLE = {
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "legend.fontsize": 12,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "lines.linewidth": 2.2,
    "lines.markersize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "savefig.dpi": 130,
    "savefig.bbox": "tight",
}


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@contextmanager
def figure(
    path: str | Path,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    size: tuple[float, float] = (8.0, 5.0),
    ncols: int = 1,
) -> Iterator[Axes | list[Axes]]:
    """Yield axes styled for projection; save the figure to `path` as PNG on exit."""
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(size[0] * ncols, size[1]))
        axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
        for ax in axes:
            if xlabel:
                ax.set_xlabel(xlabel)
            if ylabel:
                ax.set_ylabel(ylabel)
        if title:
            (axes[0].set_title if ncols == 1 else fig.suptitle)(title)
        yield axes[0] if ncols == 1 else axes
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
