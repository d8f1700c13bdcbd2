"""Comparing runs: paired tests, leaderboards, charts, reports and the course's published tables.

- `paired`: `compare` (two runs, paired bootstrap / sign / Wilcoxon) and `leaderboard` (many).
- `charts`: a run's truth-vs-guess chart and the leaderboard chart, drawn from saved results.
- `report`: one self-contained HTML page.
- `reference` (with `reference.json`): the course's published leaderboards.
"""

from pricebench.compare.paired import (
    Board,
    Comparison,
    Leaderboard,
    Row,
    compare,
    leaderboard,
    paired_test,
)

__all__ = ["Board", "Comparison", "Leaderboard", "Row", "compare", "leaderboard", "paired_test"]
