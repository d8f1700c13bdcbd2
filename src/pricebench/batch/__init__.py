"""Batch mode: price many items with the providers' batch APIs, at half the interactive price.

`Tester(pricer, items, out=run_dir, mode="batch")` calls the chat pricer's `estimate_batch`,
which is `run_batches` here: request files in the provider's format, split to its limits,
uploaded and created as batches whose ids are saved at once under `run_dir/batch/`, polled until
they end, and read back into ordinary results. Every step is resumable; `pricebench batch
status|collect|cancel RUN` looks after a run from the command line.

One module per provider (`openai`, `anthropic`) sits behind the `BatchBackend` interface.
"""

from pricebench.batch.manage import cancel_batches, read_state, refresh_status, run_items
from pricebench.batch.replies import BatchReply, anthropic_replies, openai_replies
from pricebench.batch.requests import Limits, RequestFileWriter, custom_id
from pricebench.batch.runner import (
    BatchOptions,
    BatchRequestError,
    backend_for,
    batch_directory,
    run_batches,
    with_options,
)
from pricebench.batch.state import BatchJob, BatchState

__all__ = [
    "BatchJob",
    "BatchOptions",
    "BatchReply",
    "BatchRequestError",
    "BatchState",
    "Limits",
    "RequestFileWriter",
    "anthropic_replies",
    "backend_for",
    "batch_directory",
    "cancel_batches",
    "custom_id",
    "openai_replies",
    "read_state",
    "refresh_status",
    "run_batches",
    "run_items",
    "with_options",
]
