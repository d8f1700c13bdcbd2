"""Tuning a pricer's parameters: choose on a validation split, report once on the test split.

`tune(spec_or_factory, dataset, grid=..., space=..., n_random=...)` builds one pricer per trial
(`make_pricer(spec, **params)`, or `factory(**params)`), fits it on the training items that are not
in the validation split, and scores it on the validation split; the test split is never used to
choose. Every finished trial is appended to `trials.jsonl` under `out` (and its items kept in a run
directory), so a rerun skips the trials already done and a stopped trial continues where it
stopped. Budgets in trials, API calls and dollars stop the search cleanly. The winner is then fitted
once more and run once on the test split: that run is the figure to report.

- `spaces`: grids and seeded random draws (scikit-learn's `ParameterGrid` / `ParameterSampler`).
- `trials`: a trial's scores and the tuning directory that keeps them.
- `runs`: one trial's fit and validation run, and the winner's final test run.
- `search`: `tune()` itself, and its `TuneResult`.
Budgets are `pricebench.chat.budget.Budget`, shared with the rest of the package.
"""

# `pricebench/__init__` imports `tune` from here eagerly: the function must shadow this package
# on `pricebench`, so no submodule may be called `tune`.
from pricebench.chat.budget import Budget, BudgetedPricer
from pricebench.tune.runs import TRAIN_SIZE, PricerFactory, build
from pricebench.tune.search import TuneResult, tune
from pricebench.tune.spaces import Uniform, grid, sample
from pricebench.tune.trials import METRICS, TRIALS_FILE, TUNE_FILE, Trial, TuneHeader, ranked

__all__ = [
    "METRICS",
    "TRAIN_SIZE",
    "TRIALS_FILE",
    "TUNE_FILE",
    "Budget",
    "BudgetedPricer",
    "PricerFactory",
    "Trial",
    "TuneHeader",
    "TuneResult",
    "Uniform",
    "build",
    "grid",
    "ranked",
    "sample",
    "tune",
]
