"""The batch state file: what was sent to the provider, and how far each batch has come.

It lives at `<run>/batch/state.json` and is rewritten (atomically) after every step that the
provider may charge for or that would be lost otherwise: an upload, a batch created, a status
polled, results downloaded, results collected. A crash at any point loses nothing: the next run
reads the file and carries on from the last step recorded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from pricebench.errors import ResultsError
from pricebench.files import write_atomic

STATE_FILE = "state.json"
FORMAT_VERSION = 1


class BatchJob(BaseModel):
    """One provider batch: its request file, its ids at the provider and its progress."""

    index: int
    requests_file: str
    manifest_file: str
    n_requests: int
    n_bytes: int
    input_file_id: str | None = None  # OpenAI: the uploaded request file
    batch_id: str | None = None
    # Anthropic: when the create call was sent, so a crash before its id was saved can find it.
    creating_since: str | None = None
    status: str | None = None  # the provider's own word (in_progress, completed, ended...)
    ended: bool = False  # the provider will do no more work on it
    counts: dict[str, int] = Field(default_factory=dict)
    output_file_id: str | None = None  # OpenAI
    error_file_id: str | None = None  # OpenAI
    note: str | None = None  # why the whole batch failed, if it did
    result_files: list[str] = Field(default_factory=list)  # downloaded, inside the batch dir
    downloaded: bool = False
    collected: bool = False  # every item's outcome handed to the Tester

    @property
    def submitted(self) -> bool:
        return self.batch_id is not None


class BatchState(BaseModel):
    """Every batch of one run, with what is needed to read their results back."""

    format_version: int = FORMAT_VERSION
    provider: str
    model: str
    pricer: str
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    jobs: list[BatchJob] = Field(default_factory=list)

    @property
    def unfinished(self) -> list[BatchJob]:
        return [job for job in self.jobs if not job.collected]


def load_state(directory: Path) -> BatchState | None:
    """The state saved in `directory`, or None when no batch was ever prepared there."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = BatchState.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise ResultsError(
            f"{path}: not a valid batch state ({error.errors()[0]['msg']})"
        ) from None
    if state.format_version != FORMAT_VERSION:
        raise ResultsError(
            f"{path}: batch state format {state.format_version}, not {FORMAT_VERSION}"
        )
    return state


def save_state(directory: Path, state: BatchState) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / STATE_FILE, state.model_dump_json(indent=2))
