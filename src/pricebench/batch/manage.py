"""Looking after a run's batches from outside the run: status, cancel, and its items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pricebench.batch.backend import api_errors
from pricebench.batch.requests import read_batch_manifest
from pricebench.batch.runner import backend_for, batch_directory
from pricebench.batch.state import BatchState, load_state, save_state
from pricebench.errors import ResultsError
from pricebench.items import Item
from pricebench.results import read_run


def read_state(workdir: str | Path) -> BatchState:
    """The run's batch state, or a clear error when it never ran in batch mode."""
    state = load_state(batch_directory(workdir))
    if state is None:
        raise ResultsError(f"{workdir}: no batches here (was it run with --batch?)")
    return state


def refresh_status(pricer: Any, workdir: str | Path) -> BatchState:
    """Ask the provider how each unfinished batch is doing, and save the answer."""
    state = read_state(workdir)
    backend = backend_for(pricer)
    for job in state.jobs:
        if job.submitted and not job.ended:
            with api_errors(state.provider, f"checking batch {job.batch_id}", Path(workdir)):
                backend.refresh(job)
            save_state(batch_directory(workdir), state)
    return state


def cancel_batches(pricer: Any, workdir: str | Path) -> list[str]:
    """Cancel every batch still running; the ids cancelled. Finished work is still collected."""
    state = read_state(workdir)
    backend = backend_for(pricer)
    cancelled = []
    for job in state.jobs:
        if job.submitted and not job.ended:
            with api_errors(state.provider, f"cancelling batch {job.batch_id}", Path(workdir)):
                backend.cancel(job)
            save_state(batch_directory(workdir), state)
            cancelled.append(job.batch_id or "")
    return cancelled


def run_items(workdir: str | Path) -> list[Item]:
    """The run's items, from its records and batch manifests (ids, titles and prices, no text).

    Enough to collect the batches' results into the run; an error if they do not add up to
    the items the run was started on.
    """
    run = read_run(Path(workdir))
    items = {r.id: Item(id=r.id, title=r.title, text="", price=r.truth) for r in run.records}
    state = read_state(workdir)
    directory = batch_directory(workdir)
    for job in state.jobs:
        for entry in read_batch_manifest(directory / job.manifest_file).values():
            items.setdefault(
                entry.id, Item(id=entry.id, title=entry.title, text="", price=entry.price)
            )
    if len(items) != run.header.n_items:
        raise ResultsError(
            f"{workdir}: its records and batches hold {len(items)} of its {run.header.n_items} "
            "items; run the original `pricebench run --batch` command again to send the rest"
        )
    return list(items.values())
