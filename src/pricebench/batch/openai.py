"""OpenAI's Batch API: a JSONL file uploaded with purpose "batch", then a batch on it.

Documented limits: up to 50,000 requests and 200 MB per input file; a 24 h completion window; half
the price of synchronous calls. A batch is `validating`, `in_progress`, `finalizing`, then
`completed`, `failed`, `expired` or `cancelled` (via `cancelling`). Successful replies are in its
output file, failed ones in its error file; an expired or cancelled batch still returns the work
it finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pricebench.batch.backend import part_path
from pricebench.batch.replies import BatchReply, openai_replies
from pricebench.batch.requests import Limits
from pricebench.batch.state import BatchJob

ENDPOINTS = frozenset({"/v1/chat/completions", "/v1/responses"})
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class OpenAIBatches:
    provider = "openai"
    limits = Limits(max_requests=50_000, max_bytes=200 * 1024 * 1024)

    def __init__(
        self,
        client: Any,
        completion_window: str = "24h",
        endpoint: str = "/v1/chat/completions",
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"OpenAI batches take {sorted(ENDPOINTS)}, not {endpoint!r}")
        self.client = client
        self.completion_window = completion_window
        self.endpoint = endpoint

    def line(self, custom_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": custom_id, "method": "POST", "url": self.endpoint, "body": request}

    def submit(self, job: BatchJob, directory: Path, save: Callable[[], None]) -> None:
        if job.input_file_id is None:
            with (directory / job.requests_file).open("rb") as file:
                uploaded = self.client.files.create(file=(job.requests_file, file), purpose="batch")
            job.input_file_id = uploaded.id
            save()
        else:
            # Resuming after a crash around create: the batch may exist though its id was lost.
            existing = self._batch_on(job.input_file_id)
            if existing is not None:
                job.batch_id = existing.id
                self._update(job, existing)
                save()
                return
        batch = self.client.batches.create(
            input_file_id=job.input_file_id,
            endpoint=self.endpoint,
            completion_window=self.completion_window,
            metadata={"pricebench_file": job.requests_file},
        )
        job.batch_id = batch.id
        self._update(job, batch)
        save()

    def refresh(self, job: BatchJob) -> None:
        self._update(job, self.client.batches.retrieve(job.batch_id))

    def download(self, job: BatchJob, directory: Path) -> list[str]:
        names = []
        for kind, file_id in (("output", job.output_file_id), ("errors", job.error_file_id)):
            if not file_id:
                continue
            name = f"{kind}-{job.index:03d}.jsonl"
            target = directory / name
            with self.client.files.with_streaming_response.content(file_id) as response:
                response.stream_to_file(part_path(target))
            os.replace(part_path(target), target)
            names.append(name)
        return names

    def replies(self, path: Path) -> Iterator[BatchReply]:
        return openai_replies(path)

    def cancel(self, job: BatchJob) -> None:
        self._update(job, self.client.batches.cancel(job.batch_id))

    def _batch_on(self, input_file_id: str) -> Any:
        """The most recent batch made from that uploaded file, if any (newest come first)."""
        for batch in self.client.batches.list(limit=100).data:
            if batch.input_file_id == input_file_id:
                return batch
        return None

    @staticmethod
    def _update(job: BatchJob, batch: Any) -> None:
        job.status = batch.status
        job.ended = batch.status in TERMINAL
        if batch.request_counts is not None:
            job.counts = batch.request_counts.model_dump()
        job.output_file_id = batch.output_file_id
        job.error_file_id = batch.error_file_id
        errors = batch.errors.data if batch.errors is not None and batch.errors.data else []
        if errors:
            job.note = "; ".join(
                f"{e.code or 'error'}: {e.message or ''}"
                + (f" (line {e.line})" if e.line is not None else "")
                for e in errors[:5]
            )
