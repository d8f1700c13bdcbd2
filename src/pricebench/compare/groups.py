"""Figures per group of items (inspect_ai's `grouped()` metrics): mean error per category.

Scored as the leaderboard scores (every item asked, a failure counting as the fallback guess),
so that a category a pricer refuses does not look like one it masters.
"""

from __future__ import annotations

from collections.abc import Sequence

from pricebench.compare.paired import contest_scores, shared_fallback
from pricebench.metrics import Scores
from pricebench.results import Results


def categories(runs: Sequence[Results]) -> list[str]:
    """The categories the runs' items have, by how many items they hold, then by name."""
    counts: dict[str, int] = {}
    for run in runs:
        for record in run.records:
            if record.category:
                counts[record.category] = counts.get(record.category, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))


def category_scores(run: Results, fallback: float | None = None) -> dict[str, Scores]:
    """The run's scores on the items of each category (items without one are left out).

    `fallback`: the guess a failure counts as (else the run's own); a run with failures and no
    fallback gets figures on its priced items only, as its own report shows them.
    """
    guess = fallback if fallback is not None else run.header.fallback
    groups: dict[str, list] = {}
    for record in run.records:
        if record.category:
            groups.setdefault(record.category, []).append(record)
    scores = {}
    for category, records in groups.items():
        part = Results(run.header, records, run.path)
        scores[category] = (
            part.scores if guess is None and part.n_failed else contest_scores(part, guess)
        )
    return scores


def category_table(runs: Sequence[Results]) -> list[tuple[str, list[Scores | None]]]:
    """Rows of (category, each run's scores on it or None), for the runs given."""
    fallback = shared_fallback(runs)
    per_run = [category_scores(run, fallback) for run in runs]
    return [(c, [scores.get(c) for scores in per_run]) for c in categories(runs)]
