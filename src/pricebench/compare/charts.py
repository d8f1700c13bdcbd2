"""Charts of a run (truth against guess by colour band, the running mean error) and of a board.

The figures are built with matplotlib's object API (no pyplot, no GUI backend) and display
themselves in Jupyter: `_repr_png_` renders them, so no `%matplotlib inline` is needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from matplotlib.figure import Figure  # the object API needs no GUI backend

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from pricebench.compare.paired import Board
    from pricebench.compare.reference import ReferenceBoard
    from pricebench.metrics import Scores, Tolerance

# Amber, not matplotlib's "orange": that renders olive-brown next to green on some screens.
BAND_COLOURS = {"green": "#2ca02c", "orange": "#ffb000", "red": "#d62728"}
BAND_LABELS = {"green": "hit", "orange": "within twice the tolerance", "red": "beyond"}
DPI = 110


class PricedItem(Protocol):
    """What a run's chart reads of one priced item (a `pricebench.ItemResult`)."""

    @property
    def truth(self) -> float: ...
    @property
    def guess(self) -> float | None: ...
    @property
    def error(self) -> float | None: ...
    @property
    def band(self) -> str | None: ...


class RunHeaderView(Protocol):
    @property
    def currency(self) -> str: ...
    @property
    def n_items(self) -> int: ...
    @property
    def tolerance(self) -> Tolerance: ...


class RunView(Protocol):
    """What a run's chart reads of a run (a `pricebench.Results`): typed here so that the
    comparison wing draws results without the results module knowing of charts."""

    @property
    def name(self) -> str: ...
    @property
    def header(self) -> RunHeaderView: ...
    @property
    def priced(self) -> Sequence[PricedItem]: ...
    @property
    def scores(self) -> Scores: ...


class Chart(Figure):
    """A matplotlib Figure that Jupyter shows inline by itself, without `%matplotlib inline`."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def _money_label(currency: str) -> str:
    return "$" if currency == "USD" else "£" if currency == "GBP" else f"{currency} "


def run_chart(results: RunView, path: str | Path | None = None) -> Figure:
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
    # A run that failed items is drawn on those it priced: the title says how many, so that
    # the picture cannot pass for a score on every item.
    asked = results.header.n_items
    coverage = f" ({len(priced)} of {asked} priced)" if len(priced) < asked else ""
    scatter.set_title(
        f"{results.name}: error {unit}{scores.mean_error:,.2f}, RMSLE {scores.rmsle:.2f}, "
        f"hits {scores.hit_rate:.1%}{coverage}"
    )

    n = np.arange(1, len(errors) + 1)
    running, low, high = running_band(errors)
    trend.plot(n, running, color="#1f77b4", label="running mean error")
    trend.fill_between(n, low, high, alpha=0.2, label="95% band")
    trend.set(
        xlabel="items priced",
        ylabel=f"mean absolute error ({currency})",
        title="error as items are added",
    )
    trend.legend(loc="upper right")

    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI)
    return figure


def running_band(errors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The running mean of absolute errors and its normal 95% band, item by item. The band is
    clipped at 0: a mean of absolute errors cannot go below it (early on, with few items, the
    normal interval would)."""
    errors = np.asarray(errors, dtype=float)
    n = np.arange(1, len(errors) + 1)
    running = np.cumsum(errors) / n
    spread = np.sqrt(np.maximum(np.cumsum(errors**2) / n - running**2, 0.0))
    half = 1.96 * spread / np.sqrt(n)
    return running, np.maximum(running - half, 0.0), running + half


# Leaderboard bars: the best run, runs not significantly worse than it, runs significantly worse.
BAR_COLOURS = {"best": "#2ca02c", "tied": "#1f77b4", "worse": "#b0b0b0"}


def leaderboard_chart(
    board: Board, path: str | Path | None = None, *, reference: bool = False
) -> Figure:
    """Mean absolute error of each run on `board` with its 95% CI as whiskers, best on top.

    Colours say whether a run is significantly worse than the best (paired test), since
    overlapping whiskers alone do not settle it. With `reference`, the course's published
    leaderboards follow in panels of their own, shaded and headed as measured on the course's
    data: they are never drawn on the same axes as your runs.
    """
    from matplotlib.patches import Patch

    from pricebench.compare.reference import reference_boards

    rows = [row for row in board.rows if row.rank is not None and row.scores is not None]
    scores = [row.scores for row in rows if row.scores is not None]
    references = reference_boards() if reference else []
    heights = [1.6 + 0.45 * max(len(rows), 1)] + [_reference_height(r) for r in references]
    means = np.array([s.mean_error for s in scores])
    low = means - np.array([s.mean_error_ci.low for s in scores])
    high = np.array([s.mean_error_ci.high for s in scores]) - means
    colours = [
        BAR_COLOURS["best"] if i == 0 else BAR_COLOURS["worse" if row.worse_than_best else "tied"]
        for i, row in enumerate(rows)
    ]
    alpha = next((row.vs_best.alpha for row in rows if row.vs_best), 0.05)
    figure = Chart(figsize=(9, sum(heights)), layout="constrained")
    panels = figure.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    axes = panels[0]
    positions = np.arange(len(rows))
    axes.barh(positions, means, xerr=[low, high], color=colours, capsize=4, ecolor="#333333")
    axes.set_yticks(positions, [row.label for row in rows])
    axes.invert_yaxis()
    for position, mean, upper in zip(positions, means, high, strict=True):
        axes.text(mean + upper, position, f"  {mean:,.2f}", va="center", fontsize=9)
    axes.set_xlim(0, (means + high).max(initial=1.0) * 1.18)
    axes.set_xlabel(
        f"mean absolute error ({board.currency}) on every item asked, a failure at the "
        "fallback guess; 95% bootstrap CI"
    )
    dataset = Path(board.dataset.split("#")[0]).name if board.dataset else board.fingerprint
    mine = "your runs on " if references else ""
    axes.set_title(_plain(f"{mine}{dataset}: {board.n_items} items (data {board.fingerprint})"))
    handles = [
        Patch(color=BAR_COLOURS["best"], label="best"),
        Patch(color=BAR_COLOURS["tied"], label="not significantly worse"),
        Patch(color=BAR_COLOURS["worse"], label=f"significantly worse (paired, p < {alpha:g})"),
    ]
    if references:  # under the user's panel, above the course's
        axes.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=3,
            fontsize=8,
            frameon=False,
        )
    else:
        figure.legend(
            handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False
        )
    for panel, ref in zip(panels[1:], references, strict=True):
        _reference_panel(panel, ref)
    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure


def cost_chart(board: Board, path: str | Path | None = None) -> Figure:
    """Mean error against cost per 1,000 items, one point per ranked run of `board`, the 95%
    intervals as whiskers. The cost is at list price (a cached rerun costs what the model
    charges, not $0); pricers that call no paid API sit at $0, on the linear part of the axis."""
    rows = [row for row in board.rows if row.rank is not None and row.scores is not None]
    figure = Chart(figsize=(9, 5.5), layout="constrained")
    axes = figure.subplots()
    for row in rows:
        scores = row.scores
        assert scores is not None  # the rows kept above
        per_thousand = row.run.list_cost / max(len(row.run.records), 1) * 1000
        low = scores.mean_error - scores.mean_error_ci.low
        high = scores.mean_error_ci.high - scores.mean_error
        colour = BAR_COLOURS["best"] if row is board.best else BAR_COLOURS["tied"]
        if row.worse_than_best:
            colour = BAR_COLOURS["worse"]
        axes.errorbar(
            per_thousand, scores.mean_error, yerr=[[low], [high]], fmt="o", color=colour, capsize=4
        )
        axes.annotate(
            _plain(row.label),
            (per_thousand, scores.mean_error),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    axes.set_xscale("symlog", linthresh=0.01)  # $0 (local pricers) beside cents and dollars
    axes.set_xlim(left=-0.002)
    axes.set_xlabel("cost per 1,000 items (USD, at list price; $0: no paid API)")
    axes.set_ylabel(_plain(f"mean absolute error ({board.currency}), 95% bootstrap CI"))
    dataset = Path(board.dataset.split("#")[0]).name if board.dataset else board.fingerprint
    axes.set_title(_plain(f"error against cost: {dataset}, {board.n_items} items"))
    axes.grid(True, alpha=0.3)
    from matplotlib.lines import Line2D

    axes.legend(
        handles=[
            Line2D([], [], marker="o", linestyle="", color=BAR_COLOURS[key], label=label)
            for key, label in (
                ("best", "best"),
                ("tied", "not significantly worse"),
                ("worse", "significantly worse (paired)"),
            )
        ],
        fontsize=8,
        loc="best",
    )
    axes.margins(x=0.15)  # room for the labels of the costliest runs
    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure


def has_paid_runs(board: Board) -> bool:
    """Whether any ranked run of `board` cost something: a cost chart of $0 alone says nothing."""
    return any(row.rank is not None and row.run.list_cost > 0 for row in board.rows)


REFERENCE_COLOUR = "#c8a24a"  # muted gold, hatched: not one of the user's runs


def reference_chart(path: str | Path | None = None) -> Figure:
    """The course's published leaderboards alone, one panel per edition."""
    from pricebench.compare.reference import reference_boards

    references = reference_boards()
    heights = [_reference_height(r) for r in references]
    figure = Chart(figsize=(9, sum(heights)), layout="constrained")
    panels = figure.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    for panel, ref in zip(panels, references, strict=True):
        _reference_panel(panel, ref)
    if path is not None:
        figure.savefig(path, dpi=DPI)
    return figure


def _reference_height(ref: ReferenceBoard) -> float:
    return 1.4 + 0.3 * len(ref.rows)


def _reference_panel(axes: Axes, ref: ReferenceBoard) -> None:
    """One edition of the course's leaderboard, shaded and titled as the course's own figures."""
    from pricebench.compare.reference import NOT_MEASURED

    rows = ref.sorted_rows()
    means = np.array([row.mean_error for row in rows])
    positions = np.arange(len(rows))
    axes.set_facecolor("#fff8e1")
    axes.barh(positions, means, color=REFERENCE_COLOUR, hatch="//", edgecolor="#8a6d1f")
    axes.set_yticks(positions, [_plain(row.pricer) for row in rows], fontsize=8)
    axes.invert_yaxis()
    for position, mean in zip(positions, means, strict=True):
        axes.text(mean, float(position), f"  {mean:,.2f}", va="center", fontsize=8)
    axes.set_xlim(0, means.max(initial=1.0) * 1.15)
    axes.set_xlabel(f"mean absolute error ({ref.currency}), as published; {ref.n} items")
    axes.set_title(
        _plain(f"Course {ref.edition} edition, for reference: {NOT_MEASURED}\n{ref.dataset}"),
        fontsize=9,
        color="#8a6d1f",
        wrap=True,
    )


def _plain(text: str) -> str:
    """`text` drawn as written: matplotlib reads a pair of `$` as mathematics."""
    return text.replace("$", r"\$")
