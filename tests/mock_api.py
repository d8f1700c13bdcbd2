"""Mock OpenAI and Anthropic endpoints for tests: the real SDK clients over a MockTransport.

`MockAPI` answers each HTTP request with the next scripted step (a response dict, an
`httpx2.Response`, an exception to raise, or a callable `request -> any of those`), and, when the
script runs out, with `default`. It records every request it saw. The answers follow the
documented shapes of `POST /v1/chat/completions` and `POST /v1/messages`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import openai

Step = dict[str, Any] | httpx2.Response | BaseException | Callable[[httpx2.Request], Any]


def openai_reply(
    text: str | None,
    *,
    prompt_tokens: int = 120,
    completion_tokens: int = 3,
    model: str = "gpt-4o-mini-2024-07-18",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A chat completion object as OpenAI documents it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def openai_response(
    text: str,
    *,
    input_tokens: int = 120,
    output_tokens: int = 3,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    """A Responses API response object (`POST /v1/responses`) as OpenAI documents it."""
    return {
        "id": "resp_test",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_test",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def anthropic_reply(
    text: str,
    *,
    input_tokens: int = 110,
    output_tokens: int = 4,
    model: str = "claude-3-5-sonnet-20241022",
) -> dict[str, Any]:
    """A Messages API response as Anthropic documents it."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def error_body(status: int, message: str = "mock error") -> dict[str, Any]:
    kind = {429: "rate_limit_error", 401: "authentication_error"}.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "code": None, "param": None}}


def status(code: int, headers: dict[str, str] | None = None, message: str = "mock") -> Any:
    """A step answering with an HTTP error status (and headers such as Retry-After)."""
    return httpx2.Response(code, json=error_body(code, message), headers=headers or {})


class Recorder:
    """Keeps every request an endpoint saw (thread-safe: the Tester's workers share it)."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self._lock = threading.Lock()

    def record(self, request: httpx2.Request) -> dict[str, Any]:
        """Keep `request`; its JSON body (empty when it has none)."""
        with self._lock:
            self.requests.append(request)
        return json.loads(request.content) if request.content else {}

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def count(self) -> int:
        return len(self.requests)


class MockAPI(Recorder):
    """A scripted endpoint, answering each request with the next step of its script."""

    def __init__(self, *script: Step, default: Step | None = None) -> None:
        super().__init__()
        self.script = list(script)
        self.default = default
        self.times: list[float] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
            step = self.script.pop(0) if self.script else self.default
        if step is None:
            raise AssertionError(f"MockAPI: unexpected request {request.method} {request.url}")
        if callable(step) and not isinstance(step, httpx2.Response):
            step = step(request)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, httpx2.Response):
            return step
        return httpx2.Response(200, json=step)


def openai_client(api: Any, api_key: str = "sk-test", **options: Any) -> openai.OpenAI:
    http = httpx2.Client(transport=httpx2.MockTransport(api))
    return openai.OpenAI(api_key=api_key, http_client=http, **options)


def anthropic_client(api: Any, api_key: str = "sk-ant-test", **options: Any) -> Any:
    http = httpx2.Client(transport=httpx2.MockTransport(api))
    return anthropic.Anthropic(api_key=api_key, http_client=http, **options)
