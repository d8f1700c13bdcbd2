"""Charts of a run: truth against guess by colour band, and the running mean error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pricebench.results import Results

BAND_COLOURS = {"green": "#2ca02c", "orange": "#ff7f0e", "red": "#d62728"}


def run_chart(results: Results, path: str | Path | None = None) -> Figure:
    """Two panels: guess vs truth (with y = x), and the running mean error with its 95% band."""
    from matplotlib.figure import Figure  # the object API needs no GUI backend

    priced = results.priced
    truth = np.array([r.truth for r in priced])
    guess = np.array([r.guess for r in priced], dtype=float)
    errors = np.array([r.error for r in priced], dtype=float)
    colours = [BAND_COLOURS.get(r.band or "red", "grey") for r in priced]

    figure = Figure(figsize=(12, 5), layout="constrained")
    scatter, trend = figure.subplots(1, 2)
    top = max(truth.max(initial=1.0), guess.max(initial=1.0)) * 1.05
    scatter.plot([0, top], [0, top], color="#1f77b4", linewidth=1, label="y = x")
    scatter.scatter(truth, guess, s=8, c=colours)
    scatter.set(xlim=(0, top), ylim=(0, top), xlabel="truth", ylabel="guess")
    scores = results.scores
    scatter.set_title(
        f"{results.name}: error {scores.mean_error:,.2f}, RMSLE {scores.rmsle:.2f}, "
        f"hits {scores.hit_rate:.1%}"
    )

    n = np.arange(1, len(errors) + 1)
    running = np.cumsum(errors) / n
    spread = np.sqrt(np.maximum(np.cumsum(errors**2) / n - running**2, 0.0))
    half = 1.96 * spread / np.sqrt(n)
    trend.plot(n, running, color="#1f77b4", label="running mean error")
    trend.fill_between(n, running - half, running + half, alpha=0.2, label="95% band")
    trend.set(xlabel="items priced", ylabel="mean absolute error", title="error as items are added")
    trend.legend(loc="upper right")

    if path is not None:
        figure.savefig(path, dpi=110)
    return figure
