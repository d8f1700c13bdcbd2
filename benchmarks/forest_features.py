"""How many dimensions `random-forest` looks at in a split, chosen on validation, never on test.

    python benchmarks/forest_features.py

The course's 1,952 train items split 80/20 (seed 42, `Dataset.with_validation(0.2)`): the forest
(100 trees, raw price, on 300-dimensional document vectors fitted on the 80%) is scored on the
other 390 items for each `max_features`; the fit's CPU-seconds beside it (one BLAS thread, the
forest's own two joblib threads, as `random-forest` fits).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from threadpoolctl import threadpool_limits

from pricebench import load_dataset
from pricebench.local.vectors import DocVectors

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "course-items.jsonl"


def main() -> None:
    data = load_dataset(DATA).with_validation(0.2)
    truth = np.array([item.price for item in data.validation])
    with threadpool_limits(1):
        vectors = DocVectors(300)
        train = vectors.fit_transform([item.text for item in data.train])
        held = vectors.transform([item.text for item in data.validation])
        prices = np.array([item.price for item in data.train])
        for choice in (1.0, 0.5, 0.33, 0.2, 0.1, "sqrt"):
            began = time.process_time()
            forest = RandomForestRegressor(
                n_estimators=100, max_features=choice, n_jobs=2, random_state=42
            ).fit(train, prices)
            seconds = time.process_time() - began
            error = np.abs(forest.predict(held) - truth).mean()
            print(f"max_features={choice}: validation MAE ${error:.2f}, fit {seconds:.1f} CPU-s")


if __name__ == "__main__":
    main()
