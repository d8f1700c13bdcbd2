"""Tune a local pricer's parameters on a validation split, then report once on the test split.

    python examples/tune_local.py [path/to/course-items.jsonl]

Runs offline in a minute or so. Trials are saved under tuning/bow-lr/ as they finish; running the
script again skips them.
"""

import sys

from pricebench import load_dataset, tune

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl"
data = load_dataset(path)

result = tune(
    "bow-lr",
    data,
    grid={"max_features": [250, 1000, 4000], "log_target": [False, True]},
    validation_fraction=0.2,  # 390 of the 1,952 training items choose; the test split only reports
    out="tuning/bow-lr",
)
print(result.summary())
