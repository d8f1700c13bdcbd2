"""Anthropic's Message Batches: the requests go in the create call, results come back as JSONL.

Documented limits: up to 100,000 requests or 256 MB per batch, custom_id `^[a-zA-Z0-9_-]{1,64}$`;
results within 24 h, at half the price of the Messages API. A batch is `in_progress`, maybe
`canceling`, then `ended`; each result is `succeeded`, `errored`, `canceled` or `expired`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pricebench.batch.backend import part_path
from pricebench.batch.replies import BatchReply, anthropic_replies
from pricebench.batch.requests import Limits
from pricebench.batch.state import BatchJob


class AnthropicBatches:
    provider = "anthropic"
    limits = Limits(max_requests=100_000, max_bytes=256 * 1024 * 1024)

    def __init__(self, client: Any) -> None:
        self.client = client

    def line(self, custom_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": request}

    def submit(self, job: BatchJob, directory: Path, save: Callable[[], None]) -> None:
        # The API takes the requests in the call's body, so this one file is read whole.
        with (directory / job.requests_file).open(encoding="utf-8") as lines:
            requests = [json.loads(line) for line in lines if line.strip()]
        batch = self.client.messages.batches.create(requests=requests)
        job.batch_id = batch.id
        self._update(job, batch)
        save()

    def refresh(self, job: BatchJob) -> None:
        self._update(job, self.client.messages.batches.retrieve(job.batch_id))

    def download(self, job: BatchJob, directory: Path) -> list[str]:
        name = f"results-{job.index:03d}.jsonl"
        target = directory / name
        results = self.client.messages.batches.with_streaming_response.results(job.batch_id)
        with results as response, part_path(target).open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
        os.replace(part_path(target), target)
        return [name]

    def replies(self, path: Path) -> Iterator[BatchReply]:
        return anthropic_replies(path)

    def cancel(self, job: BatchJob) -> None:
        self._update(job, self.client.messages.batches.cancel(job.batch_id))

    @staticmethod
    def _update(job: BatchJob, batch: Any) -> None:
        job.status = batch.processing_status
        job.ended = batch.processing_status == "ended"
        job.counts = batch.request_counts.model_dump()
