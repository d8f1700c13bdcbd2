"""A fine-tuning job's state on disk, so that a paid job is never lost: written before the job is
first polled, found again by the request's hash or the job's id."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pricebench.errors import PricebenchError, PricerError
from pricebench.files import write_atomic

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


class FineTuneError(PricebenchError):
    """A fine-tuning job that failed or was cancelled; the message carries OpenAI's own words."""

    def __init__(self, message: str, job_id: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.code = code


class JobState(BaseModel):
    """What is needed to find a job again, written to disk before the job is first polled."""

    key: str  # hash of the request: data, base model and settings
    base_model: str
    job_id: str | None = None
    status: str = "uploading"
    training_file: str | None = None
    validation_file: str | None = None
    fine_tuned_model: str | None = None
    hyperparameters: dict[str, Any] = {}
    suffix: str | None = None
    seed: int | None = None
    prompt: dict[str, Any] | None = None
    training_tokens: int | None = None  # estimated before upload
    trained_tokens: int | None = None  # billed, as the finished job reports it
    error: str | None = None

    def save(self, state_dir: Path) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        return write_atomic(state_dir / f"{self.key}.json", self.model_dump_json(indent=2))

    @classmethod
    def load_all(cls, state_dir: Path) -> list[JobState]:
        states = []
        for path in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
            try:
                states.append(cls.model_validate_json(path.read_text(encoding="utf-8")))
            except ValidationError as error:
                raise PricerError(f"{path}: not a fine-tuning job state ({error})") from None
        return states

    @classmethod
    def find(
        cls, state_dir: Path, *, key: str | None = None, job_id: str | None = None
    ) -> JobState | None:
        for state in cls.load_all(state_dir):
            if (key is not None and state.key == key) or (job_id and state.job_id == job_id):
                return state
        return None


def default_state_dir() -> Path:
    """Where job states live: $PRICEBENCH_FINETUNE_DIR, or ~/.pricebench/finetune."""
    configured = os.environ.get("PRICEBENCH_FINETUNE_DIR")
    return Path(configured) if configured else Path.home() / ".pricebench" / "finetune"


def describe_event(event: Any) -> str:
    """One line for a job event: its message, or the step's losses for a metrics event."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type == "metrics" and "step" in data:
        parts = [
            f"step {data['step']}" + (f"/{data['total_steps']}" if "total_steps" in data else "")
        ]
        for field in ("train_loss", "valid_loss", "train_mean_token_accuracy"):
            if isinstance(data.get(field), (int, float)):
                parts.append(f"{field.replace('_', ' ')} {data[field]:.4f}")
        return "  " + ", ".join(parts)
    colour = {"warn": "yellow", "error": "red"}.get(event.level, "dim")
    return f"[{colour}]{event.message}[/{colour}]"
