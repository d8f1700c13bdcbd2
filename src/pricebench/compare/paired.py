"""Comparing runs: a leaderboard per dataset, and paired tests of "A beats B".

The course's test slices hold 200-250 items, where a few dollars between two pricers is often
noise. `compare` tests a difference on the items both runs priced (a paired test, far more
sensitive than comparing two independent confidence intervals); `leaderboard` ranks the runs made
on the same items and marks those significantly worse than the best. Runs on other items are
ranked on their own board, never mixed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from pricebench.errors import ResultsError
from pricebench.metrics import Interval, _bootstrap_means
from pricebench.results import Results, money

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Run `a` against run `b` on the items both priced; `difference` < 0 means `a` errs less.

    `p_value` is the paired bootstrap's two-sided p-value for "no difference in mean absolute
    error"; `ci` is the bootstrap 95% interval of the difference. The sign test (which of the two
    was closer, item by item) and the Wilcoxon signed-rank test are there as checks that do not
    lean on the mean, which a few very expensive items can drive.
    """

    a: str
    b: str
    n: int
    mean_error_a: float
    mean_error_b: float
    difference: float  # mean of (error of a - error of b) over the shared items
    ci: Interval
    p_value: float
    wins_a: int  # items where a was strictly closer
    wins_b: int
    ties: int
    sign_p_value: float
    wilcoxon_p_value: float
    alpha: float = ALPHA

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def better(self) -> str | None:
        """The name of the run with the lower mean error, when the difference is significant."""
        if not self.significant:
            return None
        return self.a if self.difference < 0 else self.b

    def summary(self, currency: str = "USD") -> str:
        verdict = (
            f"{self.better} is better (p = {self.p_value:.3g})"
            if self.significant
            else f"no significant difference (p = {self.p_value:.3g})"
        )
        return (
            f"{self.a} vs {self.b} on {self.n} shared items: "
            f"{money(self.mean_error_a, currency)} vs {money(self.mean_error_b, currency)}, "
            f"difference {self.difference:+,.2f} [{self.ci.low:+,.2f}, {self.ci.high:+,.2f}]; "
            f"{verdict}; closer on {self.wins_a} / {self.wins_b} items (sign test p = "
            f"{self.sign_p_value:.3g}, Wilcoxon p = {self.wilcoxon_p_value:.3g})"
        )


def compare(
    a: Results, b: Results, *, resamples: int = 2000, seed: int = 0, alpha: float = ALPHA
) -> Comparison:
    """Test whether `a` and `b` differ in mean absolute error on the items both priced.

    Items are matched by id; an id whose true price differs between the runs means the runs were
    made on different data, which is an error rather than something to average over.
    """
    if a.header.currency != b.header.currency:
        raise ResultsError(
            f"cannot compare {a.name} ({a.header.currency}) with {b.name} ({b.header.currency})"
        )
    errors_b = {r.id: r for r in b.priced}
    pairs = []
    for record in a.priced:
        other = errors_b.get(record.id)
        if other is None:
            continue
        if not math.isclose(record.truth, other.truth, rel_tol=1e-9):
            raise ResultsError(
                f"item {record.id} has truth {record.truth} in {a.name} and {other.truth} in "
                f"{b.name}: these runs were made on different data"
            )
        pairs.append((record.error, other.error))
    if not pairs:
        raise ResultsError(f"{a.name} and {b.name} have no priced item in common")
    errors = np.array(pairs, dtype=float)
    return paired_test(errors[:, 0], errors[:, 1], a.name, b.name, resamples, seed, alpha)


def paired_test(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    a: str = "a",
    b: str = "b",
    resamples: int = 2000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> Comparison:
    """The paired tests of `compare`, on two arrays of absolute errors of the same items."""
    diff = np.asarray(errors_a, dtype=float) - np.asarray(errors_b, dtype=float)
    n = len(diff)
    observed = float(diff.mean())
    means = _bootstrap_means(diff[np.newaxis, :], resamples, seed)[0]
    low, high = np.percentile(means, [2.5, 97.5])
    # Under "no difference" the resampled means spread around 0 as they spread around the observed
    # mean: count how often that spread reaches the observed distance from 0.
    extreme = np.count_nonzero(np.abs(means - observed) >= abs(observed))
    p_value = (extreme + 1) / (resamples + 1)
    wins_a, wins_b = int(np.count_nonzero(diff < 0)), int(np.count_nonzero(diff > 0))
    decided = wins_a + wins_b
    sign_p = stats.binomtest(wins_a, decided, 0.5).pvalue if decided else 1.0
    wilcoxon_p = stats.wilcoxon(diff[diff != 0]).pvalue if decided else 1.0
    return Comparison(
        a=a,
        b=b,
        n=n,
        mean_error_a=float(np.mean(errors_a)),
        mean_error_b=float(np.mean(errors_b)),
        difference=observed,
        ci=Interval(float(low), float(high)),
        p_value=float(p_value),
        wins_a=wins_a,
        wins_b=wins_b,
        ties=n - decided,
        sign_p_value=float(sign_p),
        wilcoxon_p_value=float(wilcoxon_p),
        alpha=alpha,
    )


@dataclass(frozen=True)
class Row:
    """One run on a board. `vs_best` is its paired comparison with the board's best run."""

    rank: int
    label: str
    run: Results
    vs_best: Comparison | None = None

    @property
    def worse_than_best(self) -> bool:
        """Significantly worse than the best run on the items both priced."""
        c = self.vs_best
        return c is not None and c.significant and c.difference > 0

    @property
    def seconds(self) -> float | None:
        """Time to price the items, plus the time to fit when the pricer learns."""
        priced = self.run.header.totals.get("seconds")
        if priced is None:
            return None
        return priced + (self.run.header.fit_seconds or 0.0)


@dataclass(frozen=True)
class Board:
    """The runs made on one set of items (one fingerprint), best mean error first."""

    fingerprint: str
    dataset: str
    n_items: int
    currency: str
    rows: list[Row]

    @property
    def best(self) -> Row | None:
        return self.rows[0] if self.rows and self.rows[0].run.scores.n else None

    def __getitem__(self, index: int) -> Row:
        """`board[0]` is the best run's row."""
        return self.rows[index]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Leaderboard:
    """One `Board` per set of items, the board with the most runs first."""

    boards: list[Board] = field(default_factory=list)
    alpha: float = ALPHA

    def __iter__(self) -> Iterator[Board]:
        return iter(self.boards)

    def __len__(self) -> int:
        return len(self.boards)

    def __getitem__(self, index: int) -> Board:
        """`leaderboard(runs)[0]` is the board with the most runs; `[0][0]` its best row."""
        return self.boards[index]

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython and Jupyter
        printer.text(self.text())

    def text(self) -> str:
        """A plain-text rendering, for logs and doctests; the CLI prints a rich table."""
        lines = []
        for board in self.boards:
            lines.append(f"{board.dataset or '(unnamed data)'} [{board.fingerprint}]")
            for row in board.rows:
                s = row.run.scores
                mark = " *worse*" if row.worse_than_best else ""
                lines.append(
                    f"  {row.rank}. {row.label}: {money(s.mean_error, board.currency)} "
                    f"[{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}] "
                    f"RMSLE {s.rmsle:.2f} hits {s.hit_rate:.1%} n={s.n} "
                    f"failed={row.run.n_failed}{mark}"
                )
        return "\n".join(lines)


def leaderboard(
    runs: Iterable[Results], *, alpha: float = ALPHA, resamples: int = 2000, seed: int = 0
) -> Leaderboard:
    """Rank runs by mean absolute error, one board per set of evaluated items.

    Each run after the best is compared with the best (`compare`); `Row.worse_than_best` is set
    when the best run is better at level `alpha`. These are separate tests against one run, not
    corrected for multiplicity: with many runs near the best, read p-values near `alpha` as weak.
    """
    groups: dict[str, list[Results]] = {}
    for run in runs:
        groups.setdefault(run.header.fingerprint, []).append(run)
    boards = [_board(group, alpha, resamples, seed) for group in groups.values()]
    boards.sort(key=lambda board: (-len(board.rows), board.dataset, board.fingerprint))
    return Leaderboard(boards, alpha)


def _board(runs: Sequence[Results], alpha: float, resamples: int, seed: int) -> Board:
    # Runs with nothing priced have no mean error: they go last instead of breaking the sort.
    ordered = sorted(runs, key=lambda r: (r.scores.n == 0, r.mean_error if r.scores.n else 0.0))
    labels = run_labels(ordered)
    best = ordered[0] if ordered[0].scores.n else None
    rows = []
    for rank, (run, label) in enumerate(zip(ordered, labels, strict=True), start=1):
        vs_best = None
        if best is not None and run is not best and run.scores.n:
            try:
                vs_best = compare(run, best, resamples=resamples, seed=seed, alpha=alpha)
            except ResultsError:  # no item in common: nothing to test
                vs_best = None
        rows.append(Row(rank, label, run, vs_best))
    first = ordered[0].header
    return Board(first.fingerprint, first.dataset, first.n_items, first.currency, rows)


def run_labels(runs: Sequence[Results]) -> list[str]:
    """Pricer names, with the run directory added where two runs share a name, and the status of
    a run that did not complete (its N is smaller than the others')."""
    names = [run.name for run in runs]
    labels = []
    for run in runs:
        label = run.name
        if names.count(run.name) > 1 and run.path is not None:
            label += f" ({run.path.name})"
        if run.header.status != "complete":
            label += f" ({run.header.status})"
        labels.append(label)
    return labels
