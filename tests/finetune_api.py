"""A mock of OpenAI's files, fine-tuning jobs, job events and chat endpoints, as a state machine.

Each job walks through `plan` (by default validating_files -> queued -> running -> succeeded), one
step each time the job is retrieved, adding the events OpenAI would list. The real `openai` client
talks to it through `httpx2.MockTransport`. Every request is recorded for the tests to inspect.
"""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import openai

from tests.mock_api import openai_reply

SUCCESS = ("validating_files", "queued", "running", "succeeded")


class FineTuningAPI:
    def __init__(
        self,
        plan: tuple[str, ...] = SUCCESS,
        *,
        error: dict[str, Any] | None = None,
        reply: str = "Price is $123.45",
        on_poll: Callable[[str], None] | None = None,
        refuse: bool = False,
    ) -> None:
        self.plan = plan
        # An organization OpenAI no longer lets start jobs: uploads work, job creation is a 403
        # (OpenAI's exact wording is not published; pricebench reads the status, not the text).
        self.refuse = refuse
        self.error = error  # the `error` object of a failed job
        self.reply = reply
        self.on_poll = on_poll  # called with the job id on each retrieve, before answering
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, int] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.job_requests: list[dict[str, Any]] = []
        self.chat_requests: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.paths: list[tuple[str, str]] = []

    def client(self) -> openai.OpenAI:
        http = httpx2.Client(transport=httpx2.MockTransport(self))
        return openai.OpenAI(api_key="sk-test", http_client=http, max_retries=0)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        self.paths.append((method, path))
        parts = path.removeprefix("/v1/").split("/")
        if (method, parts) == ("POST", ["files"]):
            return self._upload(request)
        if (method, parts) == ("POST", ["fine_tuning", "jobs"]):
            return self._create(json.loads(request.content))
        if method == "GET" and parts[:2] == ["fine_tuning", "jobs"] and len(parts) == 3:
            return self._retrieve(parts[2])
        if method == "GET" and parts[:2] == ["fine_tuning", "jobs"] and parts[3:] == ["events"]:
            events = list(reversed(self.events[parts[2]]))  # newest first, as OpenAI lists them
            return httpx2.Response(200, json={"object": "list", "data": events, "has_more": False})
        if method == "POST" and parts[:2] == ["fine_tuning", "jobs"] and parts[3:] == ["cancel"]:
            self.cancelled.append(parts[2])
            self._set(parts[2], "cancelled")
            return httpx2.Response(200, json=self.jobs[parts[2]])
        if (method, parts) == ("POST", ["chat", "completions"]):
            body = json.loads(request.content)
            self.chat_requests.append(body)
            return httpx2.Response(200, json=openai_reply(self.reply, model=body["model"]))
        return httpx2.Response(404, json={"error": {"message": f"no route {method} {path}"}})

    # --- endpoints ----------------------------------------------------------------------------

    def _upload(self, request: httpx2.Request) -> httpx2.Response:
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = email.message_from_bytes(head + request.content)
        fields: dict[str, Any] = {}
        for part in message.get_payload():
            name = part.get_param("name", header="content-disposition")
            fields[name] = part.get_payload(decode=True)
            if name == "file":
                fields["filename"] = part.get_filename()
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = {
            "purpose": fields["purpose"].decode(),
            "filename": fields["filename"],
            "content": fields["file"],
        }
        return httpx2.Response(
            200,
            json={
                "id": file_id,
                "object": "file",
                "bytes": len(fields["file"]),
                "created_at": 1_700_000_000,
                "filename": fields["filename"],
                "purpose": fields["purpose"].decode(),
                "status": "processed",
            },
        )

    def _create(self, body: dict[str, Any]) -> httpx2.Response:
        self.job_requests.append(body)
        if self.refuse:
            return httpx2.Response(
                403,
                json={
                    "error": {
                        "message": "Creating fine-tuning jobs is not available for your "
                        "organization.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
        job_id = f"ftjob-{len(self.jobs) + 1}"
        hyper = body.get("method", {}).get("supervised", {}).get("hyperparameters", {})
        self.jobs[job_id] = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": 1_700_000_000,
            "model": body["model"],
            "organization_id": "org-test",
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "hyperparameters": {
                "n_epochs": hyper.get("n_epochs", "auto"),
                "batch_size": hyper.get("batch_size", "auto"),
                "learning_rate_multiplier": hyper.get("learning_rate_multiplier", "auto"),
            },
            "seed": body.get("seed", 7),
            "status": self.plan[0],
            "fine_tuned_model": None,
            "finished_at": None,
            "trained_tokens": None,
            "result_files": [],
            "error": None,
            "method": body.get("method"),
        }
        self.steps[job_id] = 0
        self.events[job_id] = []
        self._event(job_id, f"Created fine-tuning job: {job_id}")
        return httpx2.Response(200, json=self.jobs[job_id])

    def _retrieve(self, job_id: str) -> httpx2.Response:
        if self.on_poll is not None:
            self.on_poll(job_id)
        if job_id not in self.jobs:
            message = f"Could not find fine tune: {job_id}"
            return httpx2.Response(404, json={"error": {"message": message, "type": "invalid"}})
        job = self.jobs[job_id]
        if job["status"] not in ("succeeded", "failed", "cancelled"):
            self.steps[job_id] = min(self.steps[job_id] + 1, len(self.plan) - 1)
            self._set(job_id, self.plan[self.steps[job_id]])
        return httpx2.Response(200, json=job)

    def _set(self, job_id: str, status: str) -> None:
        job = self.jobs[job_id]
        if job["status"] == status:
            return
        job["status"] = status
        if status == "running":
            self._event(job_id, "Fine-tuning job started")
            self._event(
                job_id,
                "Step 1/2: training loss=1.25",
                kind="metrics",
                data={"step": 1, "total_steps": 2, "train_loss": 1.25},
            )
        elif status == "succeeded":
            job["fine_tuned_model"] = f"ft:{job['model']}:org-test:pricer:{job_id[-1]}abc"
            job["trained_tokens"] = 12_345
            job["finished_at"] = 1_700_000_600
            self._event(job_id, "The job has successfully completed")
        elif status == "failed":
            job["error"] = self.error or {"code": "server_error", "message": "boom", "param": None}
            self._event(job_id, f"Fine-tuning job failed: {job['error']['message']}", "error")
        elif status == "cancelled":
            self._event(job_id, "Fine-tuning job cancelled")

    def _event(
        self,
        job_id: str,
        message: str,
        level: str = "info",
        kind: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        events = self.events[job_id]
        events.append(
            {
                "id": f"ftevent-{job_id}-{len(events)}",
                "object": "fine_tuning.job.event",
                "created_at": 1_700_000_000 + len(events),
                "level": level,
                "message": message,
                "type": kind,
                "data": data,
            }
        )

    # --- for assertions ----------------------------------------------------------------------

    def uploaded_lines(self, file_id: str) -> list[dict[str, Any]]:
        text = self.files[file_id]["content"].decode("utf-8")
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]


def saved_job_ids(state_dir: Path) -> set[str]:
    """Job ids recorded in the state files under `state_dir`."""
    ids = set()
    for path in state_dir.glob("*.json"):
        job_id = json.loads(path.read_text())["job_id"]
        if job_id:
            ids.add(job_id)
    return ids
