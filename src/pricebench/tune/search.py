"""`tune()`: search a pricer's parameters on a validation split, report once on the test split."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.chat.budget import Budget
from pricebench.data import Dataset
from pricebench.errors import PricebenchError
from pricebench.files import write_atomic
from pricebench.items import fingerprint
from pricebench.results import Results
from pricebench.tables import PrintableTable
from pricebench.tune.runs import PricerFactory, final_run, run_trial
from pricebench.tune.spaces import Uniform, configurations, trial_id
from pricebench.tune.trials import (
    METRICS,
    Trial,
    TuneHeader,
    append_trial,
    open_trials,
    ranked,
)


@dataclass
class TuneResult:
    """The trials, the best of them by `metric` on validation, and the winner's test run."""

    trials: list[Trial]
    metric: str
    best: Trial | None
    test: Results | None = None
    out: Path | None = None
    stopped: str | None = None  # why the search stopped early, if it did

    @property
    def best_params(self) -> dict[str, Any]:
        if self.best is None:
            raise PricebenchError("no trial finished: there is no best configuration")
        return self.best.params

    def table(self) -> PrintableTable:
        """The trials, best first, as a rich table (`print` draws it as text)."""
        table = PrintableTable(title=f"trials by validation {self.metric}")
        for column in ("trial", "params", "mean error", "RMSLE", "hit rate", "calls", "cost"):
            table.add_column(column, justify="left" if column in ("trial", "params") else "right")
        table.add_column("status")
        for trial in ranked(self.trials, self.metric):
            table.add_row(
                trial.id + (" *" if self.best is not None and trial.id == self.best.id else ""),
                json.dumps(trial.params),
                _fmt(trial.mean_error, "{:,.2f}"),
                _fmt(trial.rmsle, "{:.3f}"),
                _fmt(trial.hit_rate, "{:.1%}"),
                str(trial.calls),
                f"USD {trial.cost:,.4f}" if trial.calls else "-",  # API prices are in USD
                trial.status if trial.error is None else f"{trial.status}: {trial.error}",
            )
        return table

    def summary(self) -> str:
        if self.best is None:
            return "no trial finished"
        text = f"best of {len(self.trials)} trials: {json.dumps(self.best.params)}"
        text += f" (validation {self.metric} {self.best.value(self.metric):,.4g})"
        if self.test is not None:
            text += f"\ntest: {self.test.summary()}"
        return text


def tune(
    pricer: str | PricerFactory,
    data: Dataset,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    space: Mapping[str, Sequence[Any] | Uniform] | None = None,
    n_random: int = 0,
    fixed: Mapping[str, Any] | None = None,
    seed: int = 42,
    metric: str = "mean_error",
    validation_fraction: float = 0.1,
    size: int | None = None,
    out: str | Path | None = None,
    max_trials: int | None = None,
    max_calls: int | None = None,
    max_cost: float | None = None,
    workers: int = 1,
    test: bool = True,
    refit: bool = True,
    test_size: int | None = None,
    verbose: bool = True,
) -> TuneResult:
    """Search `grid` (every combination) and/or `n_random` seeded draws from `space`.

    Each trial's pricer is `make_pricer(pricer, **fixed, **params)` for a spec, or
    `pricer(**fixed, **params)` for a factory. It is fitted on `data.train` minus the validation
    split (`data.with_validation(validation_fraction, seed)`) and scored on the validation split
    (its first `size` items when given). A `train_size` parameter fits on that many training
    items instead of all of them. `max_trials`, `max_calls` and `max_cost` (US dollars, pricing and
    training together, counting earlier runs of the same `out`) stop the search once reached.
    With `test`, the winner is fitted again (on train and validation together with `refit`, else
    on train alone) and run once on the test split (its first `test_size` items).
    """
    if metric not in METRICS:
        raise PricebenchError(f"tune: metric must be one of {sorted(METRICS)}, not {metric!r}")
    configs = configurations(grid, space, n_random, seed)
    if not configs:
        raise PricebenchError("tune: nothing to search; give a grid or a space with n_random")
    data = data.with_validation(validation_fraction, seed)
    validation = data.validation[:size] if size is not None else data.validation
    if not validation:
        raise PricebenchError(f"tune: {data.source or 'the dataset'} has no validation items")
    console = Console(stderr=True, highlight=False, quiet=not verbose)
    name = pricer if isinstance(pricer, str) else getattr(pricer, "__name__", "factory")
    out_path = Path(out) if out is not None else None
    done = open_trials(
        out_path,
        TuneHeader(
            pricer=name,
            metric=metric,
            validation_fingerprint=fingerprint(validation),
            n_validation=len(validation),
        ),
    )
    budget = Budget(max_calls, max_cost)
    for trial in done.values():
        budget.add(trial.calls, trial.cost)
    trials: list[Trial] = []
    stopped: str | None = None
    originals = {trial_id(params): params for params in configs}
    for number, params in enumerate(configs, start=1):
        key = trial_id(params)
        if key in done:
            trials.append(done[key])
            continue
        if max_trials is not None and len(trials) >= max_trials:
            stopped = f"trial budget ({max_trials}) reached"
            break
        if reason := budget.exhausted():
            stopped = reason
            break
        trial = run_trial(
            pricer,
            {**(fixed or {}), **params},
            params,
            key,
            data.train,
            validation,
            out_path,
            budget,
            workers,
        )
        trials.append(trial)
        if trial.status != "stopped":
            append_trial(out_path, trial)
        console.print(_progress_line(number, len(configs), trial, metric))
        if trial.status == "stopped":
            stopped = trial.error
            break
    best_trials = ranked(trials, metric)
    best = best_trials[0] if best_trials and best_trials[0].status == "complete" else None
    result = TuneResult(trials, metric, best, out=out_path, stopped=stopped)
    if stopped:
        console.print(f"[yellow]search stopped: {stopped}[/yellow]")
    if best is not None and test:
        result.test = final_run(
            pricer,
            {**(fixed or {}), **originals[best.id]},  # the objects themselves, not their JSON
            data,
            refit,
            test_size,
            out_path,
            workers,
        )
    if out_path is not None and best is not None:
        _write_best(out_path, result)
    return result


def _write_best(out: Path, result: TuneResult) -> None:
    """`best.json`: the winner's parameters, and its test scores when it was run on test."""
    best = result.best
    assert best is not None
    best_file: dict[str, Any] = {"params": best.params, "trial": best.id, "metric": result.metric}
    if result.test is not None:
        best_file["test"] = {
            "mean_error": result.test.mean_error,
            "rmsle": result.test.rmsle,
            "hit_rate": result.test.hit_rate,
            "n_items": result.test.n_priced,
        }
    write_atomic(out / "best.json", json.dumps(best_file, indent=2))


def _progress_line(number: int, total: int, trial: Trial, metric: str) -> str:
    value = trial.value(metric)
    shown = f"{metric} {value:,.4g}" if value is not None else trial.status
    if trial.error:
        shown += f" ({trial.error})"
    return f"trial {number}/{total} {json.dumps(trial.params)}: {shown}"


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
