"""Rank a few local pricers and their stacked ensemble, with paired tests, offline.

python examples/compare_local.py [path/to/course-items.jsonl]

Keeps its runs in memory: it writes nothing.
"""

import sys

from pricebench import Ensemble, PricebenchError, Tester, load_dataset, make_pricer
from pricebench.compare import leaderboard


def main(path: str) -> None:
    data = load_dataset(path)
    pricers = [make_pricer(spec).fit(data.train) for spec in ("constant", "bow-lr", "knn")]
    pricers.append(Ensemble(["knn", "bow-lr", "constant:median"], method="stack").fit(data.train))
    runs = [Tester(pricer, data.test).run() for pricer in pricers]
    for board in leaderboard(runs):
        for row in board.rows:
            line = f"{row.rank}. {row.run.summary()}"
            if row.vs_best is not None:
                line += f"\n   vs best: {row.vs_best.summary()}"
            print(line)


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl")
    except PricebenchError as error:  # no data, a missing extra: one line, no traceback
        sys.exit(f"error: {error}")
