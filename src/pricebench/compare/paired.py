"""Comparing runs: a leaderboard per dataset, and paired tests of "A beats B".

The course's test slices hold 200-250 items, where a few dollars between two pricers is often
noise. `compare` tests a difference on the items both runs attempted (a paired test, far more
sensitive than comparing two independent confidence intervals); `leaderboard` ranks the runs made
on the same items and marks those significantly worse than the best. Runs on other items (or in
another currency) are ranked on their own board, never mixed.

The contest rule (docs/compare.md): pricers are ranked on every item they were asked, and an
item a pricer failed counts as the run's fallback guess (the training mean: what the constant
pricer says), so refusing the hard items never pays. A run that did not attempt every item of
its board (stopped, interrupted) is listed but not ranked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from pricebench.errors import ResultsError
from pricebench.metrics import Interval, Scores, _bootstrap_means, score, squared_log_error
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
    # Failures among the compared items, each scored at the fallback guess.
    failed_a: int = 0
    failed_b: int = 0
    fallback: float | None = None

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
        failures = (
            f" (failures scored at the fallback guess {money(self.fallback, currency)}: "
            f"{self.failed_a} of {self.a}, {self.failed_b} of {self.b})"
            if (self.failed_a or self.failed_b) and self.fallback is not None
            else ""
        )
        return (
            f"{self.a} vs {self.b} on {self.n} shared items{failures}: "
            f"{money(self.mean_error_a, currency)} vs {money(self.mean_error_b, currency)}, "
            f"difference {self.difference:+,.2f} [{self.ci.low:+,.2f}, {self.ci.high:+,.2f}]; "
            f"{verdict}; closer on {self.wins_a} / {self.wins_b} items (sign test p = "
            f"{self.sign_p_value:.3g}, Wilcoxon p = {self.wilcoxon_p_value:.3g})"
        )


def compare(
    a: Results,
    b: Results,
    *,
    resamples: int = 2000,
    seed: int = 0,
    alpha: float = ALPHA,
    fallback: float | None = None,
) -> Comparison:
    """Test whether `a` and `b` differ in mean absolute error on the items both attempted.

    An item a run failed counts as the fallback guess (`fallback`, else the runs' own: the
    training mean their headers record), so a run cannot win by failing the items it finds hard.
    Items are matched by id; an id whose true price differs between the runs means the runs were
    made on different data, which is an error rather than something to average over.
    """
    if a.header.currency != b.header.currency:
        raise ResultsError(
            f"cannot compare {a.name} ({a.header.currency}) with {b.name} ({b.header.currency})"
        )
    guess = fallback if fallback is not None else shared_fallback([a, b])
    for run in (a, b) if fallback is None else ():
        problem = fallback_problem(run, guess)
        if problem is not None:
            raise ResultsError(f"{run.name}: {problem}; compare(..., fallback=PRICE) sets one")
    errors_a, errors_b = contest_errors(a, guess), contest_errors(b, guess)
    records_b = {r.id: r for r in b.records}
    pairs, failed_a, failed_b = [], 0, 0
    for record in a.records:
        other = records_b.get(record.id)
        if other is None:
            continue
        if not math.isclose(record.truth, other.truth, rel_tol=1e-9):
            raise ResultsError(
                f"item {record.id} has truth {record.truth} in {a.name} and {other.truth} in "
                f"{b.name}: these runs were made on different data"
            )
        pairs.append((errors_a[record.id], errors_b[record.id]))
        failed_a += record.failed
        failed_b += other.failed
    if not pairs:
        raise ResultsError(f"{a.name} and {b.name} have no item in common")
    errors = np.array(pairs, dtype=float)
    comparison = paired_test(errors[:, 0], errors[:, 1], a.name, b.name, resamples, seed, alpha)
    return replace(comparison, failed_a=failed_a, failed_b=failed_b, fallback=guess)


def shared_fallback(runs: Sequence[Results]) -> float | None:
    """The one fallback guess for `runs`, so that every run's failures count alike: the one
    most of them record (runs on the same items fitted on the same training items record the
    same training mean). None when none records one, or when two values are recorded equally
    often: then no fallback is agreed, and failures cannot be scored fairly."""
    counts = Counter(r.header.fallback for r in runs if r.header.fallback is not None)
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def fallback_problem(run: Results, fallback: float | None) -> str | None:
    """Why `run`'s failures cannot be scored with `fallback`, or None when they can: a run that
    failed nothing needs none; a run whose own fallback differs (fitted on other training items,
    or given another by hand) must not have its failures scored at a guess it did not get."""
    if not run.n_failed:
        return None
    if fallback is None:
        return f"{run.n_failed} failed and no agreed fallback guess to score them with"
    own = run.header.fallback
    if own is not None and not math.isclose(own, fallback, rel_tol=1e-9):
        currency = run.header.currency
        return (
            f"{run.n_failed} failed, and it records the fallback {money(own, currency)}, not "
            f"the {money(fallback, currency)} of the other runs (other training items?)"
        )
    return None


def contest_errors(run: Results, fallback: float | None) -> dict[str, float]:
    """Each attempted item's absolute error, a failure counting as the `fallback` guess.

    ResultsError when the run failed items and there is no fallback to score them with (a run
    from before pricebench recorded one, or a `Tester` given no training data nor `fallback=`).
    """
    if run.n_failed and fallback is None:
        raise ResultsError(
            f"{run.name}: {run.n_failed} failed items and no fallback guess to score them with "
            "(runs record the training mean; give Tester(fallback=PRICE) or compare(..., "
            "fallback=PRICE))"
        )
    return {
        r.id: r.error if r.error is not None else abs((fallback or 0.0) - r.truth)
        for r in run.records
    }


def contest_scores(run: Results, fallback: float | None, seed: int = 0) -> Scores:
    """The run's metrics on every item it attempted, a failure counting as the `fallback`
    guess (what a ranking compares; `run.scores` is on the priced items only)."""
    tolerance = run.header.tolerance
    errors, logs, hits = [], [], []
    for r in sorted(run.records, key=lambda r: r.id):
        if r.failed:
            if fallback is None:
                contest_errors(run, None)  # raises, saying why
            guess = float(fallback or 0.0)
            errors.append(abs(guess - r.truth))
            logs.append(squared_log_error(r.truth, guess))
            hits.append(tolerance.band(r.truth, guess) == "green")
        else:
            errors.append(float(r.error or 0.0))
            logs.append(float(r.squared_log_error or 0.0))
            hits.append(bool(r.hit))
    return score(errors, logs, hits, seed=seed)


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
    """One run on a board. `vs_best` is its paired comparison with the board's best run.

    `scores` are the contest's: every item the run was asked, a failure counting as
    `fallback`. `rank` is None for a run that is listed but not ranked, `unranked` says why.
    """

    rank: int | None
    label: str
    run: Results
    vs_best: Comparison | None = None
    scores: Scores | None = None
    fallback: float | None = None
    unranked: str | None = None

    @property
    def coverage(self) -> str:
        """Items priced of those asked: "48/500"."""
        return f"{self.run.n_priced}/{self.run.header.n_items}"

    @property
    def note(self) -> str:
        """Why the row reads as it does: its failures scored at the fallback, or why it is not
        ranked; empty for a run that priced every item."""
        if self.unranked is not None:
            return f"not ranked: {self.unranked}"
        failed = self.run.n_failed
        if failed and self.fallback is not None:
            guess = money(self.fallback, self.run.header.currency)
            return f"{failed} failed, counted as {guess}"
        return ""

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
        return next((row for row in self.rows if row.rank == 1), None)

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
                mark = " *worse*" if row.worse_than_best else ""
                note = f" ({row.note})" if row.note else ""
                s = row.scores
                if s is None:
                    lines.append(f"  -. {row.label}: priced {row.coverage}{note}")
                    continue
                lines.append(
                    f"  {row.rank or '-'}. {row.label}: {money(s.mean_error, board.currency)} "
                    f"[{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}] "
                    f"RMSLE {s.rmsle:.2f} hits {s.hit_rate:.1%} priced {row.coverage}"
                    f"{mark}{note}"
                )
        return "\n".join(lines)


def leaderboard(
    runs: Iterable[Results], *, alpha: float = ALPHA, resamples: int = 2000, seed: int = 0
) -> Leaderboard:
    """Rank runs by mean absolute error on every item asked, one board per set of items.

    The contest rule (module docstring, docs/compare.md): a failed item counts as the fallback
    guess, and a run that did not attempt every item is listed, not ranked. Each ranked run after
    the best is compared with the best (`compare`); `Row.worse_than_best` is set when the best run
    is better at level `alpha`. These are separate tests against one run, not corrected for
    multiplicity: with many runs near the best, read p-values near `alpha` as weak.
    """
    # Runs on other items, in another currency or scored with another hit rule are not ranked
    # together: their hit rates would not mean the same thing.
    groups: dict[tuple[str, str, tuple[float, float]], list[Results]] = {}
    for run in runs:
        h = run.header
        key = (h.fingerprint, h.currency, (h.tolerance.absolute, h.tolerance.relative))
        groups.setdefault(key, []).append(run)
    boards = [_board(group, alpha, resamples, seed) for group in groups.values()]
    boards.sort(key=lambda board: (-len(board.rows), board.dataset, board.fingerprint))
    return Leaderboard(boards, alpha)


def _board(runs: Sequence[Results], alpha: float, resamples: int, seed: int) -> Board:
    fallback = shared_fallback(runs)
    scored: list[tuple[Results, Scores | None, str | None]] = []
    for run in runs:
        why = _unranked(run, fallback)
        scored.append((run, None if why else contest_scores(run, fallback, seed), why))
    # Ranked runs by their contest mean error, then the listed ones in their given order.
    scored.sort(key=lambda x: (x[1] is None, x[1].mean_error if x[1] is not None else 0.0))
    labels = run_labels([run for run, _, _ in scored])
    best = scored[0][0] if scored and scored[0][1] is not None else None
    rows = []
    for rank, ((run, scores, why), label) in enumerate(zip(scored, labels, strict=True), start=1):
        vs_best = None
        if best is not None and run is not best and scores is not None:
            vs_best = compare(
                run, best, resamples=resamples, seed=seed, alpha=alpha, fallback=fallback
            )
        if scores is None:  # listed with why, no figures: they would read as a rank
            rows.append(Row(None, label, run, None, None, fallback, why))
        else:
            rows.append(Row(rank, label, run, vs_best, scores, fallback))
    first = runs[0].header
    return Board(first.fingerprint, first.dataset, first.n_items, first.currency, rows)


def _unranked(run: Results, fallback: float | None) -> str | None:
    """Why `run` cannot be ranked with the others on its items, or None when it can."""
    asked, attempted = run.header.n_items, len(run.records)
    if attempted < asked:
        return f"attempted {attempted} of {asked} items ({run.header.status})"
    if run.n_priced == 0:
        return f"priced none of {asked} items"
    return fallback_problem(run, fallback)


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
