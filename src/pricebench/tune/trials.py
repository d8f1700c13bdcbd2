"""Trials: one configuration's validation scores, and the tuning directory that keeps them
(`tune.json` says what was tuned on, `trials.jsonl` gains a line as each trial finishes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from pricebench.errors import ResultsError
from pricebench.files import read_jsonl, write_atomic

METRICS = {"mean_error": min, "median_error": min, "rmsle": min, "hit_rate": max}
TRIALS_FILE = "trials.jsonl"
TUNE_FILE = "tune.json"


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


def ranked(trials: Sequence[Trial], metric: str) -> list[Trial]:
    """Complete trials best first, then the others."""
    worse_first = METRICS[metric] is max
    scored = [t for t in trials if t.status == "complete" and t.value(metric) is not None]
    scored.sort(key=lambda t: t.value(metric), reverse=worse_first)  # type: ignore[arg-type,return-value]
    return scored + [t for t in trials if t not in scored]


def open_trials(out: Path | None, header: TuneHeader) -> dict[str, Trial]:
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
        write_atomic(header_file, header.model_dump_json(indent=2))
    trials_file = out / TRIALS_FILE
    if not trials_file.exists():
        return {}
    lines = read_jsonl(trials_file, Trial.model_validate_json, invalid="not a valid trial")
    return {trial.id: trial for _, trial in lines}


def append_trial(out: Path | None, trial: Trial) -> None:
    if out is None:
        return
    with (out / TRIALS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(trial.model_dump_json() + "\n")
