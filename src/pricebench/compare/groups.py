"""Figures per group of items (inspect_ai's `grouped()` metrics): mean error per category.

Scored as the leaderboard scores (every item asked, a failure counting as the fallback guess),
so that a category a pricer refuses does not look like one it masters. Categories with fewer
than `MIN_ITEMS` items are pooled into one group: an interval on one or two items says nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pricebench.compare.paired import contest_scores, shared_fallback
from pricebench.metrics import Scores
from pricebench.results import ItemResult, Results

MIN_ITEMS = 10


def groups_of(runs: Sequence[Results], min_items: int = MIN_ITEMS) -> dict[str, str]:
    """Item id -> its group: its category, or "other (N categories of under M items)"."""
    category = {r.id: r.category for run in runs for r in run.records if r.category}
    counts = Counter(category.values())
    small = sorted(c for c, n in counts.items() if n < min_items)
    other = f"other ({len(small)} categories of under {min_items} items)"
    return {item: other if c in small else c for item, c in category.items()}


def category_scores(
    run: Results, fallback: float | None = None, groups: dict[str, str] | None = None
) -> dict[str, Scores]:
    """The run's scores on the items of each group (items without a category are left out),
    largest group first. `groups`: from `groups_of` (default: this run's own).

    `fallback`: the guess a failure counts as (else the run's own); a run with failures and no
    fallback gets figures on its priced items only, as its own report shows them.
    """
    groups = groups if groups is not None else groups_of([run])
    guess = fallback if fallback is not None else run.header.fallback
    members: dict[str, list[ItemResult]] = {}
    for record in run.records:
        if record.id in groups:
            members.setdefault(groups[record.id], []).append(record)
    scores = {}
    for group, records in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        part = Results(run.header, records, run.path)
        scores[group] = (
            part.scores if guess is None and part.n_failed else contest_scores(part, guess)
        )
    return scores


def category_table(runs: Sequence[Results]) -> list[tuple[str, list[Scores | None]]]:
    """Rows of (group, each run's scores on it or None), largest group first."""
    groups = groups_of(runs)
    fallback = shared_fallback(runs)
    per_run = [category_scores(run, fallback, groups) for run in runs]
    sizes = Counter(groups.values())
    order = sorted(sizes, key=lambda g: (g.startswith("other ("), -sizes[g], g))
    return [(g, [scores.get(g) for scores in per_run]) for g in order]
