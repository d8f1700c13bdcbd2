"""One adaptive limiter per provider account, shared by every pricer that uses the account.

Providers limit an account (an API key at one address), not a model: two models of one provider
in one run spend the same requests and tokens per minute. `limiter_for(key)` hands every pricer
of an account the same `AccountLimiter`, which decides when the next request may start:

- concurrency: unlimited (the run's worker threads are the ceiling) until the first 429, then
  cut to 0.8 x the requests in flight, again by 0.8 for each later 429 that is not an answer to
  a request sent before the last cut (one cut per round trip, as TCP does), and raised by one
  (5% once above 20) after each round of clean answers that filled the limit (AIMD, as
  inspect_ai's adaptive connections and promptfoo's scheduler do);
- rate: the `x-ratelimit-*` (OpenAI) and `anthropic-ratelimit-*` (Anthropic) headers of every
  answer; once a limit's remaining requests or tokens fall under `RESERVE` of it, requests start
  no faster than the limit refills (one per 60 / RPM seconds; TPM alike), before any 429;
- a 429 holds every request of the account until the limit has room for one more (the refill
  time the headers give, else the server's Retry-After / reset time), with jitter, so that the
  waiting workers do not all wake at one instant.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Under this share of a limit left, requests are paced at the rate the limit refills.
RESERVE = 0.1
DECREASE = 0.8  # the concurrency kept after a 429
JITTER = 0.25  # waits are stretched by up to this share, at random
# The header names of each limit: (limit, remaining, reset), OpenAI's then Anthropic's.
_WINDOWS = {
    "requests": ("x-ratelimit-{}-requests", "anthropic-ratelimit-requests-{}"),
    "tokens": ("x-ratelimit-{}-tokens", "anthropic-ratelimit-input-tokens-{}"),
    "output": (None, "anthropic-ratelimit-output-tokens-{}"),
}
_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?"
    r"(?:(\d+(?:\.\d+)?)ms)?"
)


@dataclass(frozen=True)
class Window:
    """What an answer says of one limit: its size per minute, what is left, and when it is full."""

    limit: int
    remaining: int
    reset: float | None  # seconds


def windows(headers: Mapping[str, str] | None) -> dict[str, Window]:
    """The limits an answer's headers describe, by kind ("requests", "tokens", "output")."""
    found: dict[str, Window] = {}
    if not headers:
        return found
    for kind, patterns in _WINDOWS.items():
        for pattern in patterns:
            if pattern is None:
                continue
            limit = _int(headers.get(pattern.format("limit")))
            remaining = _int(headers.get(pattern.format("remaining")))
            if limit is not None and limit > 0 and remaining is not None:
                found[kind] = Window(
                    limit, remaining, seconds(headers.get(pattern.format("reset")))
                )
                break
    return found


def seconds(value: str | None) -> float | None:
    """A reset time or Retry-After as seconds from now: "1.5", "6m0s", "120ms", an RFC 3339
    time (Anthropic's resets) or an HTTP date; None when there is none or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    match = _DURATION.fullmatch(value)
    if match and any(match.groups()):
        h, m, s, ms = (float(part or 0) for part in match.groups())
        return h * 3600 + m * 60 + s + ms / 1000
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.datetime.now(datetime.UTC)).total_seconds())


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked to wait: `retry-after-ms`, else `retry-after`."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return seconds(headers.get("retry-after"))


def refill_time(limits: Mapping[str, Window], tokens: int) -> float | None:
    """Seconds the slowest of these per-minute limits takes to refill one request of `tokens`
    tokens; None when no limit is known."""
    if not limits:
        return None
    return max(
        60.0 * (1 if kind == "requests" else max(tokens, 1)) / window.limit
        for kind, window in limits.items()
    )


def request_tokens(body: Mapping[str, object], max_tokens: int) -> int:
    """A request's tokens as the providers count them against a limit before it runs: its text
    at about 4 characters a token, plus the output ceiling (`max_tokens`)."""
    text = sum(len(str(value)) for key, value in body.items() if key != "model")
    return math.ceil(text / 4) + max_tokens


class AccountLimiter:
    """When the next request of one provider account may start (thread-safe)."""

    def __init__(
        self,
        name: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self.clock = clock
        self.jitter = jitter
        self.concurrency: float = math.inf  # the worker threads are the ceiling until a 429
        self.in_flight = 0
        self.interval = 0.0  # seconds between request starts while a limit is nearly spent
        self.next_start = 0.0  # the earliest start of the next request, when paced
        self.hold_until = 0.0  # no request starts before this (after a 429)
        self.sent = 0  # requests started (their tickets)
        self.cut_at = 0  # the ticket after the last cut: answers to older ones cut no more
        self.clean = 0  # clean answers in this round
        self.filled = False  # whether the requests in flight reached the limit this round
        self.rate_limited = 0  # 429s seen
        self.last_success = -math.inf  # when an answer last came back whole
        self._condition = threading.Condition()

    def ready_in(self) -> float:
        """Seconds until the next request may start, as far as time goes (0: now)."""
        return max(0.0, max(self.hold_until, self.next_start) - self.clock())

    def acquire(self, deadline: float) -> int | None:
        """Wait for room to send a request; its ticket, or None when `deadline` came first."""
        with self._condition:
            while True:
                now = self.clock()
                wait = max(self.hold_until, self.next_start) - now
                if wait <= 0 and self.in_flight < self.concurrency:
                    self.in_flight += 1
                    self.filled |= self.in_flight >= self.concurrency
                    if self.interval:
                        self.next_start = max(now, self.next_start) + self.interval
                    self.sent += 1
                    return self.sent
                if now >= deadline:
                    return None
                # A release notifies; a time-held start is waited out (re-checked twice a second).
                pause = wait if wait > 0 else 0.5
                self._condition.wait(min(pause, deadline - now, 0.5))

    def release(
        self,
        ticket: int,
        headers: Mapping[str, str] | None,
        *,
        tokens: int = 0,
        rate_limited: bool = False,
        ok: bool = True,
    ) -> None:
        """Learn from the answer to request `ticket`: its headers, and whether it was a 429
        (`rate_limited`) or came back whole (`ok`). `tokens`: what the request counts against
        a token limit."""
        with self._condition:
            now = self.clock()
            self.in_flight -= 1
            limits = windows(headers)
            refill = refill_time(limits, tokens)
            if refill is not None:
                low = any(w.remaining < RESERVE * w.limit for w in limits.values())
                self.interval = refill if low else 0.0
            if rate_limited:
                self._slow_down(ticket, now, headers, refill)
            elif ok:
                self.last_success = now
                self.clean += 1
                # A round: as many clean answers as the limit. Growth only when the requests
                # in flight filled it: a limit nobody reaches says nothing of the server.
                if self.clean >= self.concurrency:
                    if self.filled:
                        self.concurrency += max(1.0, 0.05 * self.concurrency)
                    self.clean, self.filled = 0, False
            self._condition.notify_all()

    def _slow_down(
        self, ticket: int, now: float, headers: Mapping[str, str] | None, refill: float | None
    ) -> None:
        self.rate_limited += 1
        asked = retry_after(headers)
        # Room for one more request comes back after the refill time; the server's Retry-After
        # (whole seconds at Anthropic) is an upper bound of it.
        known = [x for x in (refill, asked) if x is not None]
        pause = min(known) if known else 1.0  # neither said: a second
        pause *= 1 + JITTER * self.jitter()
        self.hold_until = max(self.hold_until, now + pause)
        if refill is not None:
            self.interval = max(self.interval, refill)  # paced from now on, until there is room
        if ticket > self.cut_at:  # one cut per round trip: the storm that caused it is one event
            base = min(self.concurrency, self.in_flight + 1)
            self.concurrency = max(1.0, math.floor(base * DECREASE))
            self.cut_at = self.sent
            self.clean, self.filled = 0, False

    def progressed_since(self, moment: float) -> bool:
        """Whether a request of this account came back whole after `moment` (its clock)."""
        return self.last_success > moment

    def __repr__(self) -> str:
        return (
            f"AccountLimiter({self.name!r}, concurrency={self.concurrency}, "
            f"interval={self.interval:.3f}, rate_limited={self.rate_limited})"
        )


_limiters: weakref.WeakValueDictionary[tuple[str, ...], AccountLimiter] = (
    weakref.WeakValueDictionary()
)
_registry_lock = threading.Lock()


def limiter_for(key: tuple[str, ...], name: str = "") -> AccountLimiter:
    """The limiter of the account `key` (provider, address, key digest): one per account, alive
    while a pricer holds it."""
    with _registry_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = AccountLimiter(name)
            _limiters[key] = limiter
        return limiter


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
