"""Strict stand-ins for OpenAI's and Anthropic's APIs, for the real SDKs over httpx2.MockTransport.

Unlike `mock_api.MockAPI`, which answers whatever it is asked, these enforce what the providers
document for each model family, with the providers' own error bodies, so a request that a real
model would reject fails here too. The rules are written out here from the providers' docs, on
purpose without reading pricebench's model catalogue: a stand-in that shares the code's table
would agree with it by construction.

- OpenAI reasoning models (gpt-5*, o1/o3/o4*): `max_tokens` is rejected (use
  `max_completion_tokens`), `temperature` other than 1 is rejected, reasoning tokens count toward
  the output limit and a reply cut off by it is empty with finish_reason "length"; effort levels:
  gpt-5 minimal/low/medium/high, gpt-5.1 none/low/medium/high, gpt-5.2+ adds xhigh, o-series
  low/medium/high. Non-reasoning models reject `reasoning_effort`.
  (platform.openai.com/docs/guides/reasoning, /docs/api-reference/chat/create)
- Responses-only models (gpt-5.5-pro, gpt-5-pro, o1-pro, o3-pro: the SDK's `ResponsesModel`):
  Chat Completions answers 404 "This model is only supported in v1/responses"; gpt-5 pro takes
  only effort "high"; GPT-6 adds effort "max".
- OpenAI quota: 429 with code `insufficient_quota`; a bad key: 401 `invalid_api_key`; an unknown
  or shut-down model: 404 `model_not_found`.
- Claude 4.6 and later: a trailing assistant message (prefill) is a 400; Opus 4.7 and Claude 5:
  `temperature` is a 400; `output_config.effort` only on models that support effort; retired
  models are a 404 `not_found_error`. (platform.claude.com/docs/en/about-claude/models/migration-guide)
- Claude thinking: Claude 5 thinks (adaptively) when the request has no `thinking` field, and
  `thinking: {"type": "adaptive"}` turns it on elsewhere; `{"type": "disabled"}` turns it off,
  except on Fable 5, Mythos 5 and Opus 4.7, which only support adaptive thinking (a 400 there).
  Thinking tokens come out of `max_tokens` ahead of the text and bill as output tokens; a reply
  whose thinking uses up `max_tokens` has stop_reason "max_tokens" and no text.
  (platform.claude.com/docs/en/build-with-claude/thinking, adaptive-thinking; Bedrock's
  claude-messages-adaptive-thinking)
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from tests.mock_api import Recorder, anthropic_client, openai_client

__all__ = ["StrictAnthropic", "StrictOpenAI", "anthropic_client", "openai_client"]

# Reasoning tokens a model spends on a one-line price question, by effort.
REASONING_SPEND = {
    "none": 0,
    "minimal": 12,
    "low": 180,
    "medium": 700,
    "high": 2400,
    "xhigh": 5000,
    "max": 9000,
}
# Served by the Responses API only (the SDK's ResponsesModel, not ChatModel).
RESPONSES_ONLY = re.compile(r"(gpt-5(\.\d+)?-pro|o1-pro|o3-pro)(-\d{4}-\d{2}-\d{2})?")
# Claude's thinking tokens on the same question, by effort (adaptive thinking defaults to high).
THINKING_SPEND = {"low": 150, "medium": 600, "high": 2000, "xhigh": 4000, "max": 8000}
THINKS_BY_DEFAULT = re.compile(r"claude-[a-z]+-5(-\d+)?(-\d{8})?")
ONLY_ADAPTIVE = re.compile(r"claude-(fable|mythos)-5(-\d+)?(-\d{8})?|claude-opus-4-7(-\d{8})?")
OPENAI_RETIRED = {"o4-mini", "o1", "o3-mini", "gpt-4-turbo", "gpt-3.5-turbo", "gpt-4.1-nano"}
ANTHROPIC_RETIRED = re.compile(r"claude-(3|3-5|3-7)-.*|claude-(opus|sonnet)-4(-1)?(-\d{8})?")


def _error(status: int, message: str, kind: str, code: str | None = None) -> httpx2.Response:
    return httpx2.Response(
        status, json={"error": {"message": message, "type": kind, "param": None, "code": code}}
    )


def _anthropic_error(status: int, message: str, kind: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"type": "error", "error": {"type": kind, "message": message}}
    )


class StrictOpenAI(Recorder):
    """`POST /v1/chat/completions` and `/v1/responses` under OpenAI's documented rules."""

    def __init__(
        self,
        answer: str = "Price is $42.00",
        *,
        key: str = "sk-test",
        quota: bool = True,
        compatible: bool = False,
        prompt_tokens: int = 150,
        cached_tokens: int = 0,
    ) -> None:
        super().__init__()
        self.answer = answer
        self.key = key
        self.quota = quota
        self.compatible = compatible  # an Ollama-like server: no key, no model rules
        # The usage reported: prompt_tokens counts the cached ones too, as OpenAI's does.
        self.prompt_tokens = prompt_tokens
        self.cached_tokens = cached_tokens

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = self.record(request)
        if self.compatible:
            budget = body.get("max_tokens") or 10_000
            return self._chat(body["model"], 0, budget)
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(
                401,
                "Incorrect API key provided: sk-...",
                "invalid_request_error",
                "invalid_api_key",
            )
        if not self.quota:
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        model = body.get("model", "")
        base = model.split(":")[1] if model.startswith("ft:") else model
        if base in OPENAI_RETIRED or not re.match(r"(gpt-|o\d)", base):
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        reasoning = re.match(r"gpt-5|gpt-6|o\d", base) is not None
        responses = request.url.path.endswith("/responses")
        if RESPONSES_ONLY.fullmatch(base) and not responses:
            return _error(
                404,
                "This model is only supported in v1/responses and not in v1/chat/completions.",
                "invalid_request_error",
                None,
            )
        effort = (body.get("reasoning") or {}).get("effort") if responses else None
        effort = effort or body.get("reasoning_effort")
        if reasoning:
            if "max_tokens" in body:
                return _error(
                    400,
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead.",
                    "invalid_request_error",
                    "unsupported_parameter",
                )
            if body.get("temperature", 1) != 1:
                return _error(
                    400,
                    f"Unsupported value: 'temperature' does not support {body['temperature']} "
                    "with this model. Only the default (1) value is supported.",
                    "invalid_request_error",
                    "unsupported_value",
                )
            levels = self._levels(base)
            if effort is not None and effort not in levels:
                return _error(
                    400,
                    f"Unsupported value: 'reasoning_effort' does not support '{effort}' with "
                    f"this model. Supported values are: {', '.join(levels)}.",
                    "invalid_request_error",
                    "unsupported_value",
                )
            spend = REASONING_SPEND[effort or ("none" if "none" in levels else "medium")]
        else:
            if effort is not None:
                return _error(
                    400,
                    "Unrecognized request argument supplied: reasoning_effort",
                    "invalid_request_error",
                    None,
                )
            spend = 0
        if responses:
            return self._response(model, spend, body.get("max_output_tokens") or 10_000)
        budget = body.get("max_completion_tokens") or body.get("max_tokens") or 10_000
        return self._chat(model, spend, budget)

    @staticmethod
    def _levels(model: str) -> list[str]:
        if re.match(r"gpt-5-pro", model):
            return ["high"]  # gpt-5 pro "defaults to (and only supports) high"
        if model.startswith("o"):
            return ["low", "medium", "high"]
        if re.match(r"gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$", model):
            return ["minimal", "low", "medium", "high"]
        if model.startswith("gpt-5.1"):
            return ["none", "low", "medium", "high"]
        if model.startswith("gpt-6"):
            return ["none", "low", "medium", "high", "xhigh", "max"]
        return ["none", "low", "medium", "high", "xhigh"]

    def _chat(self, model: str, spend: int, budget: int, words: int = 4) -> httpx2.Response:
        cut = spend + words > budget
        completion = budget if cut else spend + words
        answer = self.answer
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-strict",
                "object": "chat.completion",
                "created": 1_790_000_000,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "" if cut else answer},
                        "logprobs": None,
                        "finish_reason": "length" if cut else "stop",
                    }
                ],
                "service_tier": "default",
                "usage": {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": completion,
                    "total_tokens": self.prompt_tokens + completion,
                    "prompt_tokens_details": {
                        "cached_tokens": self.cached_tokens,
                        "audio_tokens": 0,
                    },
                    "completion_tokens_details": {
                        "reasoning_tokens": min(spend, budget),
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
            },
        )

    def _response(self, model: str, spend: int, budget: int) -> httpx2.Response:
        cut = spend + 4 > budget
        output: list[dict[str, Any]] = [{"type": "reasoning", "id": "rs_1", "summary": []}]
        if not cut:
            output.append(
                {
                    "type": "message",
                    "id": "msg_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": self.answer, "annotations": []}],
                }
            )
        used = budget if cut else spend + 4
        return httpx2.Response(
            200,
            json={
                "id": "resp_strict",
                "object": "response",
                "created_at": 1_790_000_000,
                "status": "incomplete" if cut else "completed",
                "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
                "model": model,
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": self.prompt_tokens,
                    "input_tokens_details": {"cached_tokens": self.cached_tokens},
                    "output_tokens": used,
                    "output_tokens_details": {"reasoning_tokens": min(spend, budget)},
                    "total_tokens": self.prompt_tokens + used,
                },
            },
        )


class StrictAnthropic(Recorder):
    """`POST /v1/messages` under Anthropic's documented rules."""

    def __init__(
        self,
        answer: str = "$42.00",
        *,
        key: str = "sk-ant-test",
        input_tokens: int = 140,
        cache_read: int = 0,
        cache_write: int = 0,
    ) -> None:
        super().__init__()
        self.answer = answer
        self.key = key
        # The usage reported: Anthropic's input_tokens leaves out the cached prompt tokens,
        # which come in cache_read_input_tokens and cache_creation_input_tokens.
        self.input_tokens = input_tokens
        self.cache_read = cache_read
        self.cache_write = cache_write

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = self.record(request)
        # anthropic 2 sends the key as a bearer token; older clients use x-api-key.
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.key not in (request.headers.get("x-api-key"), bearer):
            return _anthropic_error(401, "invalid x-api-key", "authentication_error")
        model = body.get("model", "")
        known = re.fullmatch(r"claude-(opus|sonnet|haiku|fable|mythos)-\d(-\d)?(-\d{8})?", model)
        if ANTHROPIC_RETIRED.fullmatch(model) or not known:
            return _anthropic_error(404, f"model: {model}", "not_found_error")
        if "max_tokens" not in body:
            return _anthropic_error(400, "max_tokens: Field required", "invalid_request_error")
        newest = re.match(r"claude-(opus|sonnet)-4-[6-9]|claude-[a-z]+-5", model) is not None
        no_sampling = re.match(r"claude-opus-4-[7-9]|claude-[a-z]+-5", model) is not None
        messages = body.get("messages") or []
        prefilled = bool(messages) and messages[-1].get("role") == "assistant"
        if prefilled and newest:
            return _anthropic_error(
                400,
                "This model does not support assistant message prefill. "
                "The conversation must end with a user message.",
                "invalid_request_error",
            )
        if no_sampling and "temperature" in body:
            return _anthropic_error(
                400, "`temperature` is deprecated for this model.", "invalid_request_error"
            )
        effort = (body.get("output_config") or {}).get("effort")
        if effort is not None and not (newest or model.startswith("claude-opus-4-5")):
            return _anthropic_error(
                400, "This model does not support the effort parameter.", "invalid_request_error"
            )
        thinking = (body.get("thinking") or {}).get("type")
        if thinking == "disabled" and ONLY_ADAPTIVE.fullmatch(model):
            return _anthropic_error(
                400,
                "thinking.type: 'disabled' is not supported for this model. Use 'adaptive'.",
                "invalid_request_error",
            )
        thinks = thinking in ("adaptive", "enabled") or (
            thinking is None and THINKS_BY_DEFAULT.fullmatch(model) is not None
        )
        limit = body["max_tokens"]
        spend = min(THINKING_SPEND[effort or "high"], limit) if thinks else 0
        text = self.answer.lstrip("$") if prefilled else f"The price is {self.answer}"
        words = len(text.split()) + 2
        cut = spend + words > limit
        room = limit - spend  # what thinking left for the text
        content: list[dict[str, Any]] = []
        if thinks:
            content.append({"type": "thinking", "thinking": "Let me think...", "signature": "s"})
        if room > 0:
            content.append({"type": "text", "text": text[: 2 * room] if cut else text})
        return httpx2.Response(
            200,
            json={
                "id": "msg_strict",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "max_tokens" if cut else "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": self.input_tokens,
                    "cache_creation_input_tokens": self.cache_write,
                    "cache_read_input_tokens": self.cache_read,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": self.cache_write,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": min(spend + words, limit),
                    "service_tier": "standard",
                },
            },
        )
