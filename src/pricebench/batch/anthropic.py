"""Anthropic's Message Batches: the requests go in the create call, results come back as JSONL.

Documented limits: up to 100,000 requests or 256 MB per batch, custom_id `^[a-zA-Z0-9_-]{1,64}$`;
results within 24 h, at half the price of the Messages API. A batch is `in_progress`, maybe
`canceling`, then `ended`; each result is `succeeded`, `errored`, `canceled` or `expired`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pricebench.batch.backend import part_path
from pricebench.batch.replies import BatchReply, anthropic_replies
from pricebench.batch.requests import Limits
from pricebench.batch.state import BatchJob
from pricebench.files import read_jsonl


class AnthropicBatches:
    provider = "anthropic"
    limits = Limits(max_requests=100_000, max_bytes=256 * 1024 * 1024)

    def __init__(self, client: Any) -> None:
        self.client = client

    def line(self, custom_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": request}

    def submit(self, job: BatchJob, directory: Path, save: Callable[[], None]) -> None:
        # The API takes the requests in the call's body, so this one file is read whole.
        if job.creating_since is not None:
            # A crash between create and save: the batch may exist though its id was lost.
            existing = self._created_since(job)
            if existing is not None:
                job.batch_id = existing.id
                self._update(job, existing)
                save()
                return
        requests = [request for _, request in read_jsonl(directory / job.requests_file, json.loads)]
        job.creating_since = datetime.now(timezone.utc).isoformat()
        save()
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

    def _created_since(self, job: BatchJob) -> Any:
        """The newest batch created after `job.creating_since` with as many requests as the job.

        Message Batches carry no metadata to tag them with, so the time of the create call and
        the request count identify it (the run directory's lock rules out a second creator).
        """
        assert job.creating_since is not None
        since = datetime.fromisoformat(job.creating_since) - timedelta(seconds=60)
        for batch in self.client.messages.batches.list(limit=100).data:
            created = batch.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            total = sum(batch.request_counts.model_dump().values())
            if created >= since and total == job.n_requests:
                return batch
        return None

    @staticmethod
    def _update(job: BatchJob, batch: Any) -> None:
        job.status = batch.processing_status
        job.ended = batch.processing_status == "ended"
        job.counts = batch.request_counts.model_dump()
