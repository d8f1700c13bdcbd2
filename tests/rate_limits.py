"""A rate-limited stand-in for OpenAI's and Anthropic's APIs, for the real SDKs over
httpx2.MockTransport (or any thread that calls it with an `httpx2.Request`).

It enforces limits as the providers document them, and answers every request with their headers:

- OpenAI (platform.openai.com/docs/guides/rate-limits): requests per minute (RPM) and tokens per
  minute (TPM). A request counts against TPM when it arrives, as the larger of its `max_tokens`
  (any of the three names) plus its prompt's estimated tokens (about 4 characters a token).
  Limits may be enforced over shorter periods ("quantized": 600 RPM as 10 requests a second):
  `quantum` seconds of the limit are all that can be spent at once. Every response carries
  `x-ratelimit-limit-requests` / `-tokens`, `x-ratelimit-remaining-requests` / `-tokens` and
  `x-ratelimit-reset-requests` / `-tokens` (the time until the limit is back to its full value,
  written "1s", "6m0s", "120ms"). Over a limit: 429, `type` "requests" or "tokens", code
  `rate_limit_exceeded`, "Please try again in 120ms.", and a `retry-after` header in seconds.
- Anthropic (docs.claude.com/en/api/rate-limits): requests, input tokens and output tokens per
  minute, measured with the token bucket algorithm (replenished continuously up to the limit).
  Output tokens are estimated from `max_tokens` when a request starts and adjusted to the real
  count when it ends. Headers `anthropic-ratelimit-requests-limit` / `-remaining` / `-reset` (an
  RFC 3339 time when the bucket is full again), the same for `-input-tokens-` and
  `-output-tokens-`, and `-tokens-` for the most restrictive token limit; over a limit: 429
  `rate_limit_error` with `retry-after` in whole seconds.

`events` keeps `(seconds since start, status)` of every request, for the benchmark's figures.
"""

from __future__ import annotations

import datetime
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2

from tests.mock_api import anthropic_reply, openai_reply, openai_response

CHARS_PER_TOKEN = 4
OUTPUT_TOKENS = 4  # what a reply uses: "Price is $42.00"


class Bucket:
    """`limit` per minute, replenished continuously; at most `quantum` seconds' worth at once."""

    def __init__(self, limit: int, quantum: float, now: float) -> None:
        self.limit = limit
        self.rate = limit / 60.0
        self.capacity = max(1.0, self.rate * quantum)
        self.level = self.capacity
        self.last = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.last) * self.rate)
        self.last = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is there (0 when it is)."""
        return max(0.0, (amount - self.level) / self.rate)

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.level))

    @property
    def full_in(self) -> float:
        return (self.capacity - self.level) / self.rate


def duration(seconds: float) -> str:
    """OpenAI's way of writing a reset time: "120ms", "1.5s", "6m0s"."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


def rfc3339(seconds_from_now: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds_from_now)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's estimated tokens, from its characters, as both providers estimate them."""
    parts = body.get("messages") or body.get("input") or []
    text = "".join(str(m.get("content", "")) for m in parts if isinstance(m, dict))
    text += str(body.get("system") or "")
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def max_tokens(body: dict[str, Any]) -> int:
    for name in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        if body.get(name):
            return int(body[name])
    return 0


class RateLimitedAPI:
    """One provider account's endpoint under its rate limits (thread-safe).

    `provider`: "openai" (chat completions and responses) or "anthropic" (messages).
    `rpm`: requests per minute; `tpm`: tokens per minute (OpenAI), input tokens per minute
    (Anthropic); `output_tpm`: Anthropic's output tokens per minute. `quantum`: the seconds of a
    limit that may be spent at once (60: the whole minute). `latency`: seconds per answer.
    `retry_after`: whether a 429 says when to retry.
    """

    def __init__(
        self,
        provider: str = "openai",
        *,
        rpm: int = 600,
        tpm: int = 10_000_000,
        output_tpm: int = 10_000_000,
        quantum: float = 60.0,
        latency: float = 0.0,
        retry_after: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if provider not in ("openai", "anthropic"):
            raise ValueError(f"provider must be openai or anthropic, got {provider!r}")
        self.provider = provider
        self.latency = latency
        self.retry_after = retry_after
        self.clock = clock
        now = clock()
        self.started = now
        self.requests = Bucket(rpm, quantum, now)
        self.tokens = Bucket(tpm, quantum, now)
        self.output = Bucket(output_tpm, quantum, now)
        self.events: list[tuple[float, int]] = []
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def limited(self) -> int:
        """How many requests were answered 429."""
        return sum(status == 429 for _, status in self.events)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        prompt = prompt_tokens(body)
        ceiling = max_tokens(body)
        openai = self.provider == "openai"
        # OpenAI counts the prompt and max_tokens in one TPM limit; Anthropic counts the
        # prompt in ITPM and max_tokens, for now, in OTPM.
        asks = {"requests": 1.0, "tokens": float(prompt + ceiling if openai else prompt)}
        if not openai:
            asks["output"] = float(ceiling)
        with self.lock:
            now = self.clock()
            buckets = self._buckets()
            for bucket in buckets.values():
                bucket.refill(now)
            waits = {name: buckets[name].wait_for(amount) for name, amount in asks.items()}
            self.bodies.append(body)
            over = [name for name, wait in waits.items() if wait > 0]
            status = 429 if over else 200
            self.events.append((now - self.started, status))
            if not over:
                for name, amount in asks.items():
                    buckets[name].level -= amount
            headers = self._headers()
        if over:
            return self._too_many(over[0], max(waits.values()), headers, body.get("model", ""))
        if self.latency:
            time.sleep(self.latency)
        if not openai:
            with self.lock:  # the output estimate is trued up to what the reply used
                self.output.level = min(
                    self.output.capacity, self.output.level + ceiling - OUTPUT_TOKENS
                )
        return httpx2.Response(200, json=self._reply(request, body, prompt), headers=headers)

    def _buckets(self) -> dict[str, Bucket]:
        buckets = {"requests": self.requests, "tokens": self.tokens}
        if self.provider == "anthropic":
            buckets["output"] = self.output
        return buckets

    def _headers(self) -> dict[str, str]:
        requests, tokens, output = self.requests, self.tokens, self.output
        if self.provider == "openai":
            return {
                "x-ratelimit-limit-requests": str(requests.limit),
                "x-ratelimit-limit-tokens": str(tokens.limit),
                "x-ratelimit-remaining-requests": str(requests.remaining),
                "x-ratelimit-remaining-tokens": str(tokens.remaining),
                "x-ratelimit-reset-requests": duration(requests.full_in),
                "x-ratelimit-reset-tokens": duration(tokens.full_in),
            }
        headers: dict[str, str] = {}
        for name, bucket in (
            ("requests", requests),
            ("input-tokens", tokens),
            ("output-tokens", output),
        ):
            headers[f"anthropic-ratelimit-{name}-limit"] = str(bucket.limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(bucket.remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = rfc3339(bucket.full_in)
        tightest = min((tokens, output), key=lambda b: b.level / b.capacity)
        headers["anthropic-ratelimit-tokens-limit"] = str(tightest.limit)
        headers["anthropic-ratelimit-tokens-remaining"] = str(tightest.remaining)
        headers["anthropic-ratelimit-tokens-reset"] = rfc3339(tightest.full_in)
        return headers

    def _too_many(
        self, limit: str, wait: float, headers: dict[str, str], model: str
    ) -> httpx2.Response:
        if self.retry_after:
            headers["retry-after"] = str(max(1, math.ceil(wait)))
        if self.provider == "anthropic":
            what = {"requests": "requests", "tokens": "input tokens", "output": "output tokens"}
            message = (
                f"This request would exceed your organization's rate limit of "
                f"{self._buckets()[limit].limit:,} {what[limit]} per minute. "
                "For details, refer to: https://docs.claude.com/en/api/rate-limits."
            )
            body: dict[str, Any] = {
                "type": "error",
                "error": {"type": "rate_limit_error", "message": message},
            }
            return httpx2.Response(429, json=body, headers=headers)
        unit = "requests per min (RPM)" if limit == "requests" else "tokens per min (TPM)"
        bucket = self._buckets()[limit]
        message = (
            f"Rate limit reached for {model} in organization org-standin on {unit}: "
            f"Limit {bucket.limit}, Used {bucket.limit - bucket.remaining}, Requested 1. "
            f"Please try again in {duration(wait)}."
        )
        error = {"message": message, "type": limit, "param": None, "code": "rate_limit_exceeded"}
        return httpx2.Response(429, json={"error": error}, headers=headers)

    def _reply(self, request: httpx2.Request, body: dict[str, Any], prompt: int) -> dict[str, Any]:
        model = body.get("model", "")
        if self.provider == "anthropic":
            return anthropic_reply(
                "42.00", input_tokens=prompt, output_tokens=OUTPUT_TOKENS, model=model
            )
        if request.url.path.endswith("/responses"):
            return openai_response(
                "Price is $42.00", input_tokens=prompt, output_tokens=OUTPUT_TOKENS, model=model
            )
        return openai_reply(
            "Price is $42.00", prompt_tokens=prompt, completion_tokens=OUTPUT_TOKENS, model=model
        )
