"""Reading the result files that providers return for a batch, one reply per line, streamed.

OpenAI (output and error files): `{"id", "custom_id", "response": {"status_code", "request_id",
"body"}, "error": {"code", "message"} | null}`. Anthropic: `{"custom_id", "result": {"type":
"succeeded", "message": {...}} | {"type": "errored", "error": {...}} | {"type": "canceled"} |
{"type": "expired"}}`. Either way each line becomes a `BatchReply`: the response body that the
pricer's `read` understands, or the reason the request failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pricebench.errors import ResultsError
from pricebench.files import BadLine, read_jsonl


@dataclass(frozen=True)
class BatchReply:
    """One request's outcome in a batch: a response `body`, or an `error` message."""

    custom_id: str
    body: dict[str, Any] | None = None
    error: str | None = None


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for each non-empty line; a bad line is an error naming it."""
    return read_jsonl(path, _reply_line)


def _reply_line(line: bytes) -> dict[str, Any]:
    record = json.loads(line)
    if not isinstance(record, dict) or not isinstance(record.get("custom_id"), str):
        raise BadLine("no custom_id")
    return record


def openai_replies(path: Path) -> Iterator[BatchReply]:
    """The replies in an OpenAI batch output or error file."""
    for _, record in read_lines(path):
        response = record.get("response") or {}
        error = record.get("error")
        status = response.get("status_code")
        body = response.get("body")
        if error is None and status == 200 and isinstance(body, dict):
            yield BatchReply(record["custom_id"], body=body)
            continue
        if error:
            reason = f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip()
        else:
            detail = (body or {}).get("error") if isinstance(body, dict) else None
            message = detail.get("message") if isinstance(detail, dict) else None
            reason = f"HTTP {status}: {message or json.dumps(body)[:200]}"
        yield BatchReply(record["custom_id"], error=reason)


def anthropic_replies(path: Path) -> Iterator[BatchReply]:
    """The replies in an Anthropic message-batch results file."""
    for number, record in read_lines(path):
        result = record.get("result") or {}
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            yield BatchReply(record["custom_id"], body=result["message"])
        elif kind == "errored":
            error = result.get("error") or {}
            detail = error.get("error", error) if isinstance(error, dict) else {}
            reason = f"errored: {detail.get('type', 'error')}: {detail.get('message', '')}"
            yield BatchReply(record["custom_id"], error=reason)
        elif kind in ("canceled", "expired"):
            yield BatchReply(record["custom_id"], error=f"{kind}: the batch ended before it ran")
        else:
            raise ResultsError(f"{path}, line {number}: unknown result type {kind!r}")
