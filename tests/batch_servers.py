"""Mock batch APIs for tests: OpenAI (files + batches) and Anthropic (message batches).

Each is a small state machine behind `httpx2.MockTransport`, driven by the real SDK clients. A
batch moves one status along its `statuses` script at every retrieve; when it reaches a terminal
status its results are made with `answer(custom_id, body)`, which returns a reply text, or an
`Error(...)` for a request that fails. Shapes follow the documented endpoints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

import anthropic
import httpx2
import openai

from tests.mock_api import anthropic_reply, openai_reply

OPENAI_FLOW = ("validating", "in_progress", "finalizing", "completed")
ANTHROPIC_FLOW = ("in_progress", "in_progress", "ended")
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Crash(BaseException):  # noqa: N818 - stands for the process dying, not an error to handle
    """Raised by a server hook to simulate the user's process dying at that moment."""


@dataclass
class Error:
    """A request that fails inside a batch."""

    message: str = "bad request"
    status: int = 400


def item_number(body: dict[str, Any]) -> int:
    """The number in the item text of a request ("Thing 7" -> 7), to answer each item apart."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return int(re.search(r"Thing (\d+)", user).group(1))


def price_reply(custom_id: str, body: dict[str, Any]) -> str:
    """The default answer: $N.99 for "Thing N", so each item gets its own price."""
    return f"Price is ${item_number(body)}.99"


Answer = Callable[[str, dict[str, Any]], "str | Error"]


@dataclass
class _Batch:
    id: str
    lines: list[dict[str, Any]]
    statuses: list[str]
    step: int = 0
    record: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)  # Anthropic's results file


class OpenAIBatchServer:
    """`/v1/files`, `/v1/batches` and `/v1/files/{id}/content` as a state machine."""

    def __init__(
        self,
        answer: Answer = price_reply,
        statuses: tuple[str, ...] = OPENAI_FLOW,
        finished: float = 1.0,
        fail_message: str = "Invalid request file",
    ) -> None:
        self.answer = answer
        self.statuses = statuses
        self.finished = finished  # share of requests done when a batch expires or is cancelled
        self.fail_message = fail_message
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.calls: list[tuple[str, str]] = []
        self.hooks: dict[tuple[str, str], Callable[[], None]] = {}  # (method, kind) -> action
        self.after_hooks: dict[tuple[str, str], Callable[[], None]] = {}

    def client(self) -> openai.OpenAI:
        http = httpx2.Client(transport=httpx2.MockTransport(self))
        return openai.OpenAI(api_key="sk-test", http_client=http, max_retries=0)

    def count(self, method: str, kind: str) -> int:
        return sum(1 for call in self.calls if call == (method, kind))

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        path = request.url.path
        parts = path.strip("/").split("/")
        method = request.method
        kind = None
        if parts[1:] == ["chat", "completions"]:
            kind = "chat"
        elif parts[1] == "files":
            kind = "upload" if method == "POST" else "content"
        elif parts[1] == "batches":
            if method == "POST":
                kind = "cancel" if parts[-1] == "cancel" else "create"
            else:
                kind = "retrieve" if len(parts) == 3 else "list"
        assert kind is not None, f"unexpected {method} {path}"
        self.calls.append((method, kind))
        hook = self.hooks.pop((method, kind), None)
        if hook is not None:
            hook()
        response = getattr(self, "_" + kind)(request, parts)
        after = self.after_hooks.pop((method, kind), None)
        if after is not None:
            after()  # the server did the work, but the client never hears of it
        return response

    def _chat(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        """The interactive endpoint, for retrying batch failures one by one."""
        body = json.loads(request.content)
        reply = self.answer("", body)
        if isinstance(reply, Error):
            return httpx2.Response(reply.status, json={"error": {"message": reply.message}})
        return httpx2.Response(
            200, json=openai_reply(reply, prompt_tokens=100, completion_tokens=4)
        )

    def _upload(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        fields = _multipart(request)
        assert fields["purpose"][1] == b"batch"
        filename, content = fields["file"]
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return httpx2.Response(200, json=_file_object(file_id, filename, content, "batch"))

    def _create(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        body = json.loads(request.content)
        assert body["endpoint"] == "/v1/chat/completions"
        assert body["completion_window"] == "24h"
        content = self.files[body["input_file_id"]]
        lines = [json.loads(line) for line in content.decode().splitlines() if line.strip()]
        ids = [line["custom_id"] for line in lines]
        assert len(ids) == len(set(ids)), "custom_id must be unique in a batch"
        for line in lines:
            assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
            assert isinstance(line["body"]["messages"], list)
        batch_id = f"batch_{len(self.batches) + 1}"
        batch = _Batch(batch_id, lines, list(self.statuses))
        batch.record = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": "24h",
            "status": batch.statuses[0],
            "output_file_id": None,
            "error_file_id": None,
            "created_at": 1_700_000_000,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self.batches[batch_id] = batch
        return httpx2.Response(200, json=batch.record)

    def _list(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        data = [b.record for b in reversed(self.batches.values())]
        return httpx2.Response(200, json={"object": "list", "data": data, "has_more": False})

    def _retrieve(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        batch = self.batches[parts[2]]
        if batch.step + 1 < len(batch.statuses):
            batch.step += 1
            self._enter(batch, batch.statuses[batch.step])
        return httpx2.Response(200, json=batch.record)

    def _cancel(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        batch = self.batches[parts[2]]
        batch.statuses = [*batch.statuses[: batch.step + 1], "cancelling", "cancelled"]
        batch.step += 1
        batch.record["status"] = "cancelling"
        return httpx2.Response(200, json=batch.record)

    def _content(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        return httpx2.Response(200, content=self.files[parts[2]])

    def _enter(self, batch: _Batch, status: str) -> None:
        batch.record["status"] = status
        if status == "failed":
            batch.record["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": self.fail_message, "line": 1}],
            }
        if status not in ("completed", "expired", "cancelled"):
            return
        share = 1.0 if status == "completed" else self.finished
        done = round(len(batch.lines) * share)
        outputs, errors = [], []
        for number, line in enumerate(batch.lines):
            cid = line["custom_id"]
            if number >= done:
                code = "batch_expired" if status == "expired" else "batch_cancelled"
                message = "This request could not be executed before the window expired."
                errors.append(_openai_line(cid, None, {"code": code, "message": message}))
                continue
            reply = self.answer(cid, line["body"])
            if isinstance(reply, Error):
                body = {"error": {"message": reply.message, "type": "invalid_request_error"}}
                errors.append(_openai_line(cid, {"status_code": reply.status, "body": body}))
            else:
                body = openai_reply(reply, prompt_tokens=100, completion_tokens=4)
                outputs.append(_openai_line(cid, {"status_code": 200, "body": body}))
        for kind, lines in (("output_file_id", outputs), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                batch.record[kind] = file_id
        batch.record["request_counts"] = {
            "total": len(batch.lines),
            "completed": len(outputs),
            "failed": len(errors),
        }


class AnthropicBatchServer:
    """`/v1/messages/batches` (create, retrieve, cancel, results) as a state machine."""

    def __init__(
        self,
        answer: Answer = price_reply,
        statuses: tuple[str, ...] = ANTHROPIC_FLOW,
        expire: Callable[[str], bool] = lambda cid: False,
    ) -> None:
        self.answer = answer
        self.statuses = statuses
        self.expire = expire
        self.batches: dict[str, _Batch] = {}
        self.calls: list[tuple[str, str]] = []
        self.hooks: dict[tuple[str, str], Callable[[], None]] = {}
        self.after: dict[tuple[str, str], Callable[[], None]] = {}

    def client(self) -> anthropic.Anthropic:
        http = httpx2.Client(transport=httpx2.MockTransport(self))
        return anthropic.Anthropic(api_key="sk-ant-test", http_client=http, max_retries=0)

    def count(self, method: str, kind: str) -> int:
        return sum(1 for call in self.calls if call == (method, kind))

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        parts = request.url.path.strip("/").split("/")
        assert parts[:3] == ["v1", "messages", "batches"], request.url.path
        if request.method == "POST":
            kind = "cancel" if parts[-1] == "cancel" else "create"
        elif len(parts) == 3:
            kind = "list"
        else:
            kind = "results" if parts[-1] == "results" else "retrieve"
        self.calls.append((request.method, kind))
        hook = self.hooks.pop((request.method, kind), None)
        if hook is not None:
            hook()
        response = getattr(self, "_" + kind)(request, parts)
        after = self.after.pop((request.method, kind), None)
        if after is not None:
            after()  # e.g. the process dies after the server acted, before the reply is read
        return response

    def _list(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        data = [b.record for b in reversed(self.batches.values())]  # newest first
        return httpx2.Response(
            200, json={"data": data, "has_more": False, "first_id": None, "last_id": None}
        )

    def _create(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        requests = json.loads(request.content)["requests"]
        ids = [r["custom_id"] for r in requests]
        assert len(ids) == len(set(ids)), "custom_id must be unique in a batch"
        assert all(CUSTOM_ID.match(cid) for cid in ids), "custom_id pattern"
        for r in requests:
            assert {"model", "max_tokens", "messages"} <= set(r["params"])
        batch_id = f"msgbatch_{len(self.batches) + 1:02d}"
        batch = _Batch(batch_id, requests, list(self.statuses))
        batch.record = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": batch.statuses[0],
            "request_counts": _counts(processing=len(requests)),
            "created_at": datetime.now(timezone.utc).isoformat(),
            "expires_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(),
            "ended_at": None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": None,
        }
        self.batches[batch_id] = batch
        return httpx2.Response(200, json=batch.record)

    def _retrieve(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        batch = self.batches[parts[3]]
        if batch.step + 1 < len(batch.statuses):
            batch.step += 1
            batch.record["processing_status"] = batch.statuses[batch.step]
            if batch.statuses[batch.step] == "ended":
                self._end(batch)
        return httpx2.Response(200, json=batch.record)

    def _cancel(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        batch = self.batches[parts[3]]
        batch.statuses = [*batch.statuses[: batch.step + 1], "canceling", "ended"]
        batch.step += 1
        batch.record["processing_status"] = "canceling"
        batch.record["cancel_initiated_at"] = "2026-01-01T00:10:00Z"
        return httpx2.Response(200, json=batch.record)

    def _results(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response:
        batch = self.batches[parts[3]]
        assert batch.record["processing_status"] == "ended"
        text = "".join(json.dumps(x) + "\n" for x in batch.results)
        return httpx2.Response(200, content=text.encode())

    def _end(self, batch: _Batch) -> None:
        cancelled = "canceling" in batch.statuses
        results, counts = [], _counts()
        for number, line in enumerate(batch.lines):
            cid = line["custom_id"]
            if cancelled and number >= len(batch.lines) // 2:
                result: dict[str, Any] = {"type": "canceled"}
            elif self.expire(cid):
                result = {"type": "expired"}
            else:
                reply = self.answer(cid, line["params"])
                if isinstance(reply, Error):
                    error = {"type": "invalid_request_error", "message": reply.message}
                    result = {"type": "errored", "error": {"type": "error", "error": error}}
                else:
                    message = anthropic_reply(reply, input_tokens=100, output_tokens=4)
                    result = {"type": "succeeded", "message": message}
            counts[result["type"]] += 1
            results.append({"custom_id": cid, "result": result})
        batch.record["request_counts"] = counts
        batch.record["ended_at"] = "2026-01-01T01:00:00Z"
        batch.record["results_url"] = (
            f"https://api.anthropic.com/v1/messages/batches/{batch.id}/results"
        )
        batch.results = results


def _counts(processing: int = 0) -> dict[str, int]:
    return {"processing": processing, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}


def _openai_line(
    custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    if response is not None:
        response = {"request_id": f"req_{custom_id}", **response}
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }


def _file_object(file_id: str, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "created_at": 1_700_000_000,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def _multipart(request: httpx2.Request) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, content)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=email_policy).parsebytes(head + request.content)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True))
    return fields
