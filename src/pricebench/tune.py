"""Tuning a pricer's parameters: choose on a validation split, report once on the test split.

`tune(spec_or_factory, dataset, grid=..., space=..., n_random=...)` builds one pricer per trial
(`make_pricer(spec, **params)`, or `factory(**params)`), fits it on the training items that are not
in the validation split, and scores it on the validation split; the test split is never used to
choose. Every finished trial is appended to `trials.jsonl` under `out` (and its items kept in a run
directory), so a rerun skips the trials already done and a stopped trial continues where it
stopped. Budgets in trials, API calls and dollars stop the search cleanly. The winner is then fitted
once more and run once on the test split: that run is the figure to report.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from rich.console import Console

from pricebench.data import Dataset
from pricebench.errors import PricebenchError, ResultsError, StopRun
from pricebench.items import Item, fingerprint
from pricebench.pricer import Estimate, Pricer, estimate_one, learns
from pricebench.registry import make_pricer
from pricebench.results import HEADER_FILE, Results
from pricebench.tables import PrintableTable
from pricebench.tester import Tester

METRICS = {"mean_error": min, "median_error": min, "rmsle": min, "hit_rate": max}
TRIALS_FILE = "trials.jsonl"
TUNE_FILE = "tune.json"
# A trial parameter that sets how many training items are used instead of going to the pricer.
TRAIN_SIZE = "train_size"

PricerFactory = Callable[..., Pricer]


@dataclass(frozen=True)
class Uniform:
    """A parameter drawn uniformly in [low, high] by random search (log scale with `log`)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def draw(self, rng: random.Random) -> float | int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return round(value) if self.integer else value


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values, in order."""
    names = list(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*space.values())]


def sample(
    space: Mapping[str, Sequence[Any] | Uniform], n: int, seed: int = 42
) -> list[dict[str, Any]]:
    """`n` seeded random draws: a choice from each list, a value from each `Uniform`."""
    rng = random.Random(seed)
    draws = []
    for _ in range(n):
        draws.append(
            {
                name: values.draw(rng) if isinstance(values, Uniform) else rng.choice(values)
                for name, values in space.items()
            }
        )
    return draws


class Trial(BaseModel):
    """One configuration and how it scored on the validation split."""

    id: str
    params: dict[str, Any]
    status: Literal["complete", "stopped", "failed"]
    mean_error: float | None = None
    median_error: float | None = None
    rmsle: float | None = None
    hit_rate: float | None = None
    n_priced: int = 0
    n_failed: int = 0
    calls: int = 0  # API calls made (cached answers are free)
    cost: float = 0.0  # US dollars, pricing plus any training
    seconds: float = 0.0
    error: str | None = None

    def value(self, metric: str) -> float | None:
        return getattr(self, metric)


class TuneHeader(BaseModel):
    """What a tuning directory was tuned on, so that a rerun on other data is refused."""

    pricer: str
    metric: str
    validation_fingerprint: str
    n_validation: int


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
                f"${trial.cost:,.4f}",
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


def ranked(trials: Sequence[Trial], metric: str) -> list[Trial]:
    """Complete trials best first, then the others."""
    worse_first = METRICS[metric] is max
    scored = [t for t in trials if t.status == "complete" and t.value(metric) is not None]
    scored.sort(key=lambda t: t.value(metric), reverse=worse_first)  # type: ignore[arg-type,return-value]
    return scored + [t for t in trials if t not in scored]


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
    configs = _configurations(grid, space, n_random, seed)
    if not configs:
        raise PricebenchError("tune: nothing to search; give a grid or a space with n_random")
    data = data.with_validation(validation_fraction, seed)
    validation = data.validation[:size] if size is not None else data.validation
    if not validation:
        raise PricebenchError(f"tune: {data.source or 'the dataset'} has no validation items")
    console = Console(stderr=True, highlight=False, quiet=not verbose)
    name = pricer if isinstance(pricer, str) else getattr(pricer, "__name__", "factory")
    out_path = Path(out) if out is not None else None
    done = _open(
        out_path,
        TuneHeader(
            pricer=name,
            metric=metric,
            validation_fingerprint=fingerprint(validation),
            n_validation=len(validation),
        ),
    )
    budget = _Budget(max_calls, max_cost)
    for trial in done.values():
        budget.add(trial.calls, trial.cost)
    trials: list[Trial] = []
    stopped: str | None = None
    originals = {_trial_id(params): params for params in configs}
    for number, params in enumerate(configs, start=1):
        trial_id = _trial_id(params)
        if trial_id in done:
            trials.append(done[trial_id])
            continue
        if max_trials is not None and len(trials) >= max_trials:
            stopped = f"trial budget ({max_trials}) reached"
            break
        if reason := budget.exhausted():
            stopped = reason
            break
        trial = _run_trial(
            pricer,
            {**(fixed or {}), **params},
            params,
            trial_id,
            data.train,
            validation,
            out_path,
            budget,
            workers,
        )
        trials.append(trial)
        if trial.status != "stopped":
            _append(out_path, trial)
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
        result.test = _test_run(
            pricer,
            {**(fixed or {}), **originals[best.id]},  # the objects themselves, not their JSON
            data,
            refit,
            test_size,
            out_path,
            workers,
        )
    if out_path is not None and best is not None:
        best_file = {"params": best.params, "trial": best.id, "metric": metric}
        if result.test is not None:
            best_file["test"] = {
                "mean_error": result.test.mean_error,
                "rmsle": result.test.rmsle,
                "hit_rate": result.test.hit_rate,
                "n_items": result.test.n_priced,
            }
        (out_path / "best.json").write_text(json.dumps(best_file, indent=2), encoding="utf-8")
    return result


def build(pricer: str | PricerFactory, params: Mapping[str, Any]) -> Pricer:
    """The pricer of one configuration (without the `train_size` parameter)."""
    options = {k: v for k, v in params.items() if k != TRAIN_SIZE}
    return make_pricer(pricer, **options) if isinstance(pricer, str) else pricer(**options)


def _run_trial(
    pricer: str | PricerFactory,
    options: dict[str, Any],
    params: dict[str, Any],
    trial_id: str,
    train: list[Item],
    validation: list[Item],
    out: Path | None,
    budget: _Budget,
    workers: int,
) -> Trial:
    # Kept JSON-friendly in the trial file: objects (a PromptTemplate) by their repr.
    params = json.loads(json.dumps(params, default=repr))
    began = time.perf_counter()
    run_dir = out / "trials" / trial_id if out is not None else None
    if budget.limited and run_dir is not None and (run_dir / HEADER_FILE).exists():
        # A trial stopped earlier resumes; what its first part spent counts against the budget.
        earlier = Results.load(run_dir)
        budget.add(_calls(earlier), earlier.cost)
    try:
        model = _fitted(pricer, options, train)
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
    calls = _calls(results)
    cost = results.cost + float(getattr(model, "training_cost_", 0.0) or 0.0)
    if not budget.limited:
        budget.add(calls, cost)
    scored = results.n_priced > 0
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


def _calls(results: Results) -> int:
    """API calls a run paid for: answers with tokens that did not come from the cache."""
    return sum(1 for r in results.records if not r.cached and r.input_tokens + r.output_tokens)


def _fitted(pricer: str | PricerFactory, options: dict[str, Any], train: list[Item]) -> Pricer:
    model = build(pricer, options)
    if learns(model):
        size = options.get(TRAIN_SIZE)
        model.fit(train[:size] if size is not None else train)
    return model


def _test_run(
    pricer: str | PricerFactory,
    options: dict[str, Any],
    data: Dataset,
    refit: bool,
    test_size: int | None,
    out: Path | None,
    workers: int,
) -> Results:
    train = data.train + data.validation if refit else data.train
    model = _fitted(pricer, options, train)
    return Tester(
        model,
        data.test,
        size=test_size,
        workers=workers,
        out=out / "test" if out is not None else None,
        resume="overwrite",  # the winner may differ from an earlier run's; a test run is one-off
        progress=False,
    ).run()


class _Budget:
    """Calls and dollars spent so far, shared by the trials; stops a trial that would overspend."""

    def __init__(self, max_calls: int | None, max_cost: float | None) -> None:
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.calls = 0
        self.cost = 0.0
        self.lock = threading.Lock()

    @property
    def limited(self) -> bool:
        return self.max_calls is not None or self.max_cost is not None

    def add(self, calls: int, cost: float) -> None:
        with self.lock:
            self.calls += calls
            self.cost += cost

    def exhausted(self) -> str | None:
        if self.max_calls is not None and self.calls >= self.max_calls:
            return f"call budget ({self.max_calls}) reached"
        if self.max_cost is not None and self.cost >= self.max_cost:
            return f"cost budget (${self.max_cost:,.2f}) reached"
        return None

    def guard(self, pricer: Pricer) -> Pricer:
        training = float(getattr(pricer, "training_cost_", 0.0) or 0.0)
        self.add(0, training)
        return _Guarded(pricer, self)


class _Guarded:
    """A pricer that counts what each answer cost and ends the run once the budget is spent."""

    def __init__(self, pricer: Pricer, budget: _Budget) -> None:
        self.pricer = pricer
        self.budget = budget
        self.name = pricer.name

    def get_params(self) -> dict[str, Any]:
        get_params = getattr(self.pricer, "get_params", None)
        return get_params() if get_params is not None else {}

    def estimate(self, item: Item) -> Estimate:
        if reason := self.budget.exhausted():
            raise StopRun(reason)
        estimate = estimate_one(self.pricer, item)
        calls = 0 if estimate.cached or not estimate.input_tokens + estimate.output_tokens else 1
        self.budget.add(calls, estimate.cost or 0.0)
        return estimate

    def predict(self, item: Item) -> float:
        return self.estimate(item).price


def _configurations(
    grid_space: Mapping[str, Sequence[Any]] | None,
    space: Mapping[str, Sequence[Any] | Uniform] | None,
    n_random: int,
    seed: int,
) -> list[dict[str, Any]]:
    configs = grid(grid_space) if grid_space else []
    if n_random:
        if not space:
            raise PricebenchError("tune: n_random needs a space to draw from")
        configs += sample(space, n_random, seed)
    unique: dict[str, dict[str, Any]] = {}
    for params in configs:
        unique.setdefault(_trial_id(params), params)
    return list(unique.values())


def _trial_id(params: Mapping[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _open(out: Path | None, header: TuneHeader) -> dict[str, Trial]:
    """The trials an earlier run of this tuning left in `out` (none without `out`)."""
    if out is None:
        return {}
    header_file = out / TUNE_FILE
    if header_file.exists():
        try:
            old = TuneHeader.model_validate_json(header_file.read_text(encoding="utf-8"))
        except ValidationError:
            raise ResultsError(f"{header_file}: not a pricebench tuning header") from None
        if old != header:
            raise ResultsError(
                f"{out} holds a tuning of {old.pricer!r} by {old.metric} on validation data "
                f"{old.validation_fingerprint}, not {header.pricer!r} by {header.metric} on "
                f"{header.validation_fingerprint}: choose another output directory"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        header_file.write_text(header.model_dump_json(indent=2), encoding="utf-8")
    trials: dict[str, Trial] = {}
    trials_file = out / TRIALS_FILE
    if trials_file.exists():
        for number, line in enumerate(trials_file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                trial = Trial.model_validate_json(line)
            except ValidationError:
                raise ResultsError(f"{trials_file}, line {number}: not a valid trial") from None
            trials[trial.id] = trial
    return trials


def _append(out: Path | None, trial: Trial) -> None:
    if out is None:
        return
    with (out / TRIALS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(trial.model_dump_json() + "\n")


def _progress_line(number: int, total: int, trial: Trial, metric: str) -> str:
    value = trial.value(metric)
    shown = f"{metric} {value:,.4g}" if value is not None else trial.status
    if trial.error:
        shown += f" ({trial.error})"
    return f"trial {number}/{total} {json.dumps(trial.params)}: {shown}"


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
