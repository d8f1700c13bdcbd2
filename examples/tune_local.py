"""Tune a local pricer's parameters on a validation split, then report once on the test split.

    python examples/tune_local.py [path/to/course-items.jsonl]

Runs offline in a minute or so. Trials are saved under results/tuning/knn/ as they finish;
running the script again skips them.
"""

import sys

from pricebench import PricebenchError, load_dataset, tune


def main(path: str) -> None:
    data = load_dataset(path)
    result = tune(
        "knn",  # similarity-weighted nearest neighbours on TF-IDF vectors
        data,
        grid={"n_neighbors": [5, 10, 20], "power": [1.0, 2.0, 4.0]},
        validation_fraction=0.2,  # 390 of the 1,952 training items choose; test only reports
        out="results/tuning/knn",
    )
    print(result.summary())


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl")
    except PricebenchError as error:  # no data, a missing extra: one line, no traceback
        sys.exit(f"error: {error}")
