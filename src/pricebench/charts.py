"""Charts of a run (truth against guess by colour band, the running mean error) and of a board.

The figures are built with matplotlib's object API (no pyplot, no GUI backend) and display
themselves in Jupyter: `_repr_png_` renders them, so no `%matplotlib inline` is needed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure  # the object API needs no GUI backend

if TYPE_CHECKING:
    from pricebench.compare import Board
    from pricebench.results import Results

# Amber, not matplotlib's "orange": that renders olive-brown next to green on some screens.
BAND_COLOURS = {"green": "#2ca02c", "orange": "#ffb000", "red": "#d62728"}
BAND_LABELS = {"green": "hit", "orange": "within twice the tolerance", "red": "beyond"}
DPI = 110


class Chart(Figure):
    """A matplotlib Figure that Jupyter shows inline by itself, without `%matplotlib inline`."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def _money_label(currency: str) -> str:
    return "$" if currency == "USD" else "£" if currency == "GBP" else f"{currency} "


def run_chart(results: Results, path: str | Path | None = None) -> Figure:
    """Two panels: guess vs truth (with y = x), and the running mean error with its 95% band."""
    from matplotlib.lines import Line2D

    priced = results.priced
    truth = np.array([r.truth for r in priced])
    guess = np.array([r.guess for r in priced], dtype=float)
    errors = np.array([r.error for r in priced], dtype=float)
    colours = [BAND_COLOURS.get(r.band or "red", "grey") for r in priced]

    figure = Chart(figsize=(12, 5), layout="constrained")
    scatter, trend = figure.subplots(1, 2)
    top = max(truth.max(initial=1.0), guess.max(initial=1.0)) * 1.05
    scatter.plot([0, top], [0, top], color="#1f77b4", linewidth=1, label="y = x")
    scatter.scatter(truth, guess, s=8, c=colours)
    currency = results.header.currency
    scatter.set(
        xlim=(0, top),
        ylim=(0, top),
        xlabel=f"truth ({currency})",
        ylabel=f"guess ({currency})",
    )
    tolerance = results.header.tolerance
    unit = _money_label(currency)
    scatter.legend(
        handles=[
            Line2D([], [], color="#1f77b4", linewidth=1, label="y = x"),
            *(
                Line2D([], [], marker="o", linestyle="", color=BAND_COLOURS[band], label=text)
                for band, text in BAND_LABELS.items()
            ),
        ],
        title=f"hit: error < {unit}{tolerance.absolute:g} or < {tolerance.relative:.0%}",
        loc="upper left",
        fontsize=8,
        title_fontsize=8,
    )
    scores = results.scores
    scatter.set_title(
        f"{results.name}: error {unit}{scores.mean_error:,.2f}, RMSLE {scores.rmsle:.2f}, "
        f"hits {scores.hit_rate:.1%}"
    )

    n = np.arange(1, len(errors) + 1)
    running = np.cumsum(errors) / n
    spread = np.sqrt(np.maximum(np.cumsum(errors**2) / n - running**2, 0.0))
    half = 1.96 * spread / np.sqrt(n)
    trend.plot(n, running, color="#1f77b4", label="running mean error")
    trend.fill_between(n, running - half, running + half, alpha=0.2, label="95% band")
    trend.set(
        xlabel="items priced",
        ylabel=f"mean absolute error ({currency})",
        title="error as items are added",
    )
    trend.legend(loc="upper right")

    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure


# Leaderboard bars: the best run, runs not significantly worse than it, runs significantly worse.
BAR_COLOURS = {"best": "#2ca02c", "tied": "#1f77b4", "worse": "#b0b0b0"}


def leaderboard_chart(board: Board, path: str | Path | None = None) -> Figure:
    """Mean absolute error of each run on `board` with its 95% CI as whiskers, best on top.

    Colours say whether a run is significantly worse than the best (paired test), since
    overlapping whiskers alone do not settle it.
    """
    from matplotlib.patches import Patch

    rows = [row for row in board.rows if row.run.scores.n]
    means = np.array([row.run.scores.mean_error for row in rows])
    low = means - np.array([row.run.scores.mean_error_ci.low for row in rows])
    high = np.array([row.run.scores.mean_error_ci.high for row in rows]) - means
    colours = [
        BAR_COLOURS["best"] if i == 0 else BAR_COLOURS["worse" if row.worse_than_best else "tied"]
        for i, row in enumerate(rows)
    ]
    alpha = next((row.vs_best.alpha for row in rows if row.vs_best), 0.05)
    figure = Chart(figsize=(9, 1.6 + 0.45 * max(len(rows), 1)), layout="constrained")
    axes = figure.subplots()
    positions = np.arange(len(rows))
    axes.barh(positions, means, xerr=[low, high], color=colours, capsize=4, ecolor="#333333")
    axes.set_yticks(positions, [row.label for row in rows])
    axes.invert_yaxis()
    for position, mean, upper in zip(positions, means, high, strict=True):
        axes.text(mean + upper, position, f"  {mean:,.2f}", va="center", fontsize=9)
    axes.set_xlim(0, (means + high).max(initial=1.0) * 1.18)
    axes.set_xlabel(f"mean absolute error ({board.currency}), 95% bootstrap CI")
    dataset = Path(board.dataset.split("#")[0]).name if board.dataset else board.fingerprint
    axes.set_title(f"{dataset}: {board.n_items} items (data {board.fingerprint})")
    figure.legend(
        handles=[
            Patch(color=BAR_COLOURS["best"], label="best"),
            Patch(color=BAR_COLOURS["tied"], label="not significantly worse"),
            Patch(color=BAR_COLOURS["worse"], label=f"significantly worse (paired, p < {alpha:g})"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure
