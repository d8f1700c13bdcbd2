"""Running a chat pricer's items as provider batch jobs, resumably.

Steps, each recorded in the batch state file before the next starts (see `state.py`):

1. Items whose request is already in the response cache are answered from it, and not sent.
2. The others' requests (the pricer's own `request(item)`, unchanged) are written to request files,
   split to the provider's limits on requests and bytes per batch.
3. Each file is uploaded and its batch created; the batch id is saved the moment it exists.
4. The batches are polled until they end; each ended batch's result files are downloaded and
   every item's reply read with the pricer's own `read` and `parse`, priced at batch rates and
   put in the response cache. Items with no usable reply become failures (retry them
   interactively with `Tester(resume="retry-failures")` or `pricebench run --retry-failures`).

Running again with the same work directory picks up wherever this stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.batch.anthropic import AnthropicBatches
from pricebench.batch.backend import BatchBackend, api_errors
from pricebench.batch.openai import OpenAIBatches
from pricebench.batch.replies import BatchReply
from pricebench.batch.requests import (
    Limits,
    ManifestEntry,
    RequestFileWriter,
    custom_id,
    iter_manifest,
    reply_index,
)
from pricebench.batch.state import BatchJob, BatchState, load_state, save_state
from pricebench.chat.cache import cache_key
from pricebench.errors import PricebenchError, PricerError, StopRun
from pricebench.items import Item, hide_price
from pricebench.pricer import Estimate

BATCH_DIR = "batch"
BatchOutcome = tuple[str, Estimate | BaseException]


class BatchRequestError(PricebenchError):
    """One item's request failed, expired or was cancelled inside a provider batch."""


@dataclass(frozen=True)
class BatchOptions:
    """How batches are run. `max_requests` / `max_bytes` lower the provider's per-batch limits.

    `wait=False` submits and collects whatever has ended, then stops the run (`StopRun`) so that
    `pricebench batch collect RUN` can finish it later.
    """

    poll_interval: float = 30.0  # seconds between status checks
    wait: bool = True
    max_requests: int | None = None
    max_bytes: int | None = None
    completion_window: str = "24h"  # OpenAI's only window
    quiet: bool = False


def batch_directory(workdir: str | Path) -> Path:
    return Path(workdir) / BATCH_DIR


def backend_for(pricer: Any, options: BatchOptions | None = None) -> BatchBackend:
    """The batch API of the pricer's provider, on the pricer's own SDK client."""
    options = options or BatchOptions()
    provider = getattr(pricer, "provider", None)
    if provider == "openai":
        # The Responses API has its own batch endpoint: lines and batch must name it.
        path = getattr(pricer, "path", "/v1/chat/completions")
        return OpenAIBatches(pricer.client, options.completion_window, endpoint=path)
    if provider == "anthropic":
        return AnthropicBatches(pricer.client)
    raise PricerError(
        f"{getattr(pricer, 'name', pricer)!r}: no batch API for provider {provider!r}"
    )


def run_batches(
    pricer: Any,
    items: Sequence[Item],
    workdir: str | Path,
    options: BatchOptions | None = None,
) -> Iterator[BatchOutcome]:
    """Price `items` with provider batches; yields (item id, Estimate or error) as they come."""
    options = options or getattr(pricer, "batch_options", None) or BatchOptions()
    return _Run(pricer, Path(workdir), options).outcomes(items)


class _Run:
    """One `run_batches` call: a run directory's batch state and the steps that advance it."""

    def __init__(self, pricer: Any, workdir: Path, options: BatchOptions) -> None:
        self.pricer = pricer
        self.options = options
        self.directory = batch_directory(workdir)
        self.backend = backend_for(pricer, options)
        self.cache = getattr(pricer, "_cache", None)  # ChatPricer's opened ResponseCache, if any
        self.console = Console(stderr=True, highlight=False, quiet=options.quiet)
        limits = self.backend.limits
        self.limits = Limits(
            min(options.max_requests or limits.max_requests, limits.max_requests),
            min(options.max_bytes or limits.max_bytes, limits.max_bytes),
        )
        state = load_state(self.directory)
        if state is not None and (state.provider, state.model) != (pricer.provider, pricer.model):
            raise PricerError(
                f"{self.directory} holds batches of {state.provider}:{state.model}, not "
                f"{pricer.provider}:{pricer.model}"
            )
        self.state = state or BatchState(
            provider=pricer.provider, model=pricer.model, pricer=pricer.name
        )
        self._shown: dict[int, tuple[str | None, dict[str, int]]] = {}

    def save(self) -> None:
        save_state(self.directory, self.state)

    def _api(self, what: str) -> AbstractContextManager[None]:
        return api_errors(self.state.provider, what, self.directory.parent)

    def outcomes(self, items: Sequence[Item]) -> Iterator[BatchOutcome]:
        waiting = self._waiting_ids()
        fresh = [item for item in items if item.id not in waiting]
        yield from self._prepare(fresh)
        for job in self.state.unfinished:
            if not job.submitted:
                with self._api(f"creating batch {job.index}"):
                    self.backend.submit(job, self.directory, self.save)
                self._show(job)
        while True:
            for job in self.state.unfinished:
                if not job.ended:
                    with self._api(f"checking batch {job.batch_id}"):
                        self.backend.refresh(job)
                    self.save()
                    self._show(job)
                if job.ended:
                    yield from self._collect(job)
            pending = self.state.unfinished
            if not pending:
                return
            if not self.options.wait:
                raise StopRun(
                    f"{len(pending)} batch(es) still running at {self.state.provider}; "
                    f"collect them later with `pricebench batch collect {self.directory.parent}`"
                )
            time.sleep(self.options.poll_interval)

    def _waiting_ids(self) -> set[str]:
        """Ids of items already sent in batches whose results are not collected yet."""
        ids: set[str] = set()
        for job in self.state.unfinished:
            ids.update(entry.id for entry in iter_manifest(self.directory / job.manifest_file))
        return ids

    def _prepare(self, items: list[Item]) -> Iterator[BatchOutcome]:
        """Answer cached items now; write the others' request files as new (unsent) jobs."""
        writer = RequestFileWriter(self.directory, self.limits, first_index=len(self.state.jobs))
        with writer:
            for item in items:
                cid = custom_id(item.id)
                # The manifest keeps the truth, to score the reply; the request never sees it.
                request = self.pricer.request(hide_price(item, self.pricer.name))
                key = cache_key(self.pricer.cache_namespace, self.pricer.model, request)
                cached = self.cache.get(key) if self.cache is not None else None
                if cached is not None:
                    yield item.id, self._estimate(cached, cached=True)
                    continue
                entry = ManifestEntry(
                    custom_id=cid, id=item.id, title=item.title, price=item.price, key=key
                )
                writer.add(self.backend.line(cid, request), entry)
        files = writer.close()
        for file in files:
            self.state.jobs.append(
                BatchJob(
                    index=file.index,
                    requests_file=file.name,
                    manifest_file=file.manifest,
                    n_requests=file.n_requests,
                    n_bytes=file.n_bytes,
                )
            )
        if files:
            self.save()
            self.console.print(
                f"{self.pricer.name}: {sum(f.n_requests for f in files):,} requests in "
                f"{len(files)} batch file(s) under {self.directory}"
            )

    def _collect(self, job: BatchJob) -> Iterator[BatchOutcome]:
        """Every item of an ended job: its estimate, or why it has none."""
        if not job.downloaded:
            with self._api(f"downloading the results of batch {job.batch_id}"):
                job.result_files = self.backend.download(job, self.directory)
            job.downloaded = True
            self.save()
        index = reply_index(self.directory / job.manifest_file)
        for name in job.result_files:
            for reply in self.backend.replies(self.directory / name):
                found = index.pop(reply.custom_id, None)
                if found is not None:
                    item_id, key = found
                    yield item_id, self._outcome(reply, key)
        reason = job.note or "no result returned"
        for item_id, _ in index.values():
            yield item_id, BatchRequestError(f"batch {job.batch_id} {job.status}: {reason}")
        job.collected = True
        self.save()

    def _outcome(self, reply: BatchReply, key: str | None) -> Estimate | BaseException:
        if reply.body is None:
            return BatchRequestError(reply.error or "failed")
        if self.cache is not None and key is not None:
            self.cache.put(key, reply.body)
        try:
            return self._estimate(reply.body, cached=False)
        except Exception as error:  # an unreadable reply fails its item only
            return error

    def _estimate(self, response: dict[str, Any], *, cached: bool) -> Estimate:
        # estimate_from counts the cost toward the pricer's spending, parsed or not.
        return self.pricer.estimate_from(response, cached=cached, batch=True)

    def _show(self, job: BatchJob) -> None:
        """A line whenever a batch's status or counts change (polls are minutes apart)."""
        seen = (job.status, dict(job.counts))
        if self._shown.get(job.index) == seen:
            return
        self._shown[job.index] = seen
        counts = ", ".join(f"{k} {v:,}" for k, v in job.counts.items() if v)
        self.console.print(
            f"batch {job.index} ({job.batch_id}): {job.status}" + (f" [{counts}]" if counts else "")
        )


def with_options(pricer: Any, **changes: Any) -> Any:
    """Set batch options on a pricer (for the CLI), keeping the ones it already has."""
    current = getattr(pricer, "batch_options", None) or BatchOptions()
    pricer.batch_options = replace(current, **changes)
    return pricer
