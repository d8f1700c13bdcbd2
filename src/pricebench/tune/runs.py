"""Running one configuration: build its pricer, fit it, score it on the validation split as a
trial, or, for the winner, fit it once more and run it once on the test split (the final run)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pricebench.chat.budget import Budget, paid_call
from pricebench.data import Dataset
from pricebench.errors import PricebenchError
from pricebench.items import Item
from pricebench.pricer import Pricer, learns
from pricebench.registry import make_pricer
from pricebench.results import HEADER_FILE, Results
from pricebench.tester import Tester
from pricebench.tune.trials import Trial

# A trial parameter that sets how many training items are used instead of going to the pricer.
TRAIN_SIZE = "train_size"

PricerFactory = Callable[..., Pricer]


def build(pricer: str | PricerFactory, params: Mapping[str, Any]) -> Pricer:
    """The pricer of one configuration (without the `train_size` parameter)."""
    options = {k: v for k, v in params.items() if k != TRAIN_SIZE}
    return make_pricer(pricer, **options) if isinstance(pricer, str) else pricer(**options)


def run_trial(
    pricer: str | PricerFactory,
    options: dict[str, Any],
    params: dict[str, Any],
    trial_id: str,
    train: list[Item],
    validation: list[Item],
    out: Path | None,
    budget: Budget,
    workers: int,
) -> Trial:
    """Fit one configuration on `train` and score it on `validation`, spending from `budget`."""
    # Kept JSON-friendly in the trial file: objects (a PromptTemplate) by their repr.
    params = json.loads(json.dumps(params, default=repr))
    began = time.perf_counter()
    run_dir = out / "trials" / trial_id if out is not None else None
    if budget.limited and run_dir is not None and (run_dir / HEADER_FILE).exists():
        # A trial stopped earlier resumes; what its first part spent counts against the budget.
        earlier = Results.load(run_dir)
        budget.add(paid_calls(earlier), earlier.cost)
    try:
        model = fitted(pricer, options, train)
        guarded = budget.guard(model) if budget.limited else model
        results = Tester(
            guarded,
            validation,
            workers=workers,
            out=run_dir,
            progress=False,
        ).run()
    except (PricebenchError, ValueError, TypeError) as error:
        # A configuration the pricer rejects (scikit-learn raises ValueError) is a failed trial.
        return Trial(
            id=trial_id,
            params=params,
            status="failed",
            error=str(error),
            seconds=time.perf_counter() - began,
        )
    calls = paid_calls(results)
    cost = results.cost + float(getattr(model, "training_cost_", 0.0) or 0.0)
    if not budget.limited:
        budget.add(calls, cost)
    scored = results.n_priced > 0
    status: Literal["complete", "stopped", "failed"]
    if results.header.status == "stopped":
        status, note = "stopped", results.header.note
    elif scored:
        status, note = "complete", None
    else:
        status, note = "failed", f"all {results.n_failed} validation items failed"
    return Trial(
        id=trial_id,
        params=params,
        status=status,
        mean_error=results.mean_error if scored else None,
        median_error=results.median_error if scored else None,
        rmsle=results.rmsle if scored else None,
        hit_rate=results.hit_rate if scored else None,
        n_priced=results.n_priced,
        n_failed=results.n_failed,
        calls=calls,
        cost=cost,
        seconds=round(time.perf_counter() - began, 3),
        error=note,
    )


def final_run(
    pricer: str | PricerFactory,
    options: dict[str, Any],
    data: Dataset,
    refit: bool,
    test_size: int | None,
    out: Path | None,
    workers: int,
) -> Results:
    """The winner fitted again (on train and validation with `refit`) and run once on test."""
    train = data.train + data.validation if refit else data.train
    model = fitted(pricer, options, train)
    return Tester(
        model,
        data.test,
        size=test_size,
        workers=workers,
        out=out / "test" if out is not None else None,
        resume="overwrite",  # the winner may differ from an earlier run's; a test run is one-off
        progress=False,
    ).run()


def fitted(pricer: str | PricerFactory, options: dict[str, Any], train: list[Item]) -> Pricer:
    model = build(pricer, options)
    if learns(model):
        size = options.get(TRAIN_SIZE)
        model.fit(train[:size] if size is not None else train)
    return model


def paid_calls(results: Results) -> int:
    """API calls a run paid for: answers with tokens that did not come from the cache."""
    return sum(1 for record in results.records if paid_call(record))
