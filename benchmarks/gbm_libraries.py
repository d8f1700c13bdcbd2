"""`gbm`: scikit-learn's HistGradientBoostingRegressor against LightGBM on the same features.

Both boost 200 rounds at learning rate 0.05 on the same inputs (100-dimensional document vectors
plus the numbers pulled from the text), fitted on course-items train and scored on its test split,
with the raw-price target (the course's) and the log-price target. Needs `pip install lightgbm`
(not a pricebench dependency: this script is how that choice was made).

    python benchmarks/gbm_libraries.py [path/to/course-items.jsonl]
"""

from __future__ import annotations

import sys
import time
from typing import Any

from lightgbm import LGBMRegressor
from sklearn.pipeline import make_pipeline

from pricebench import Tester, load_dataset
from pricebench.local.course import GBMPricer


class LightGBMPricer(GBMPricer):
    """`gbm` with LightGBM in place of scikit-learn's booster, all else equal."""

    def _model(self) -> Any:
        features = super()._model()[0]
        booster = LGBMRegressor(
            n_estimators=self.max_iter,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
            n_jobs=2,
            verbose=-1,
        )
        return make_pipeline(features, booster)


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl"
    data = load_dataset(path)
    print(f"{'library':<22}{'target':<8}{'MAE [95% CI]':>26}{'RMSLE':>8}{'fit s':>8}")
    for label, cls in (("scikit-learn HistGBR", GBMPricer), ("LightGBM", LightGBMPricer)):
        for log_target in (False, True):
            began = time.perf_counter()
            pricer = cls(log_target=log_target).fit(data.train)
            fit = time.perf_counter() - began
            s = Tester(pricer, data.test, progress=False).run().scores
            ci = f"${s.mean_error:.2f} [{s.mean_error_ci.low:.2f}, {s.mean_error_ci.high:.2f}]"
            target = "log" if log_target else "raw"
            print(f"{label:<22}{target:<8}{ci:>26}{s.rmsle:>8.3f}{fit:>8.1f}")


if __name__ == "__main__":
    main()
