"""The small interface each provider's batch API sits behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pricebench.batch.replies import BatchReply
from pricebench.batch.requests import Limits
from pricebench.batch.state import BatchJob
from pricebench.errors import PricebenchError, PricerError


class BatchBackend(Protocol):
    """One provider's batch API, driven through its official SDK client."""

    provider: str
    limits: Limits  # the provider's documented per-batch limits

    def line(self, custom_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """The request-file line for one request body."""
        ...

    def submit(self, job: BatchJob, directory: Path, save: Callable[[], None]) -> None:
        """Send the job's request file and create its batch, calling `save` after each step."""
        ...

    def refresh(self, job: BatchJob) -> None:
        """Update the job's status, counts and result file ids from the provider."""
        ...

    def download(self, job: BatchJob, directory: Path) -> list[str]:
        """Save the job's result files into `directory`; their names."""
        ...

    def replies(self, path: Path) -> Iterator[BatchReply]:
        """The replies in one downloaded result file."""
        ...

    def cancel(self, job: BatchJob) -> None:
        """Ask the provider to stop the batch (its finished requests are still returned)."""
        ...


def part_path(path: Path) -> Path:
    """Where a download goes until it is complete, so a cut download is never read as whole."""
    return path.with_name(path.name + ".part")


@contextmanager
def api_errors(provider: str, what: str, workdir: Path) -> Iterator[None]:
    """An SDK error (after the SDK's own retries) as one clear error that says how to resume."""
    try:
        yield
    except PricebenchError:
        raise
    except Exception as error:
        raise PricerError(
            f"{provider} batch API, {what}: {type(error).__name__}: {error}. Nothing is lost: "
            f"run the same command again, or `pricebench batch status {workdir}`"
        ) from error
