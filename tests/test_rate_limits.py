"""Rate limits: the stand-in that enforces them as OpenAI and Anthropic document, and the one
adaptive limiter per provider account that every pricer of a run shares (issue 28)."""

from __future__ import annotations

import threading

import httpx2
import pytest

from pricebench import Item, Tester
from pricebench.chat import base, limits
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.limits import AccountLimiter, Window, seconds, windows
from pricebench.chat.openai import OpenAIPricer
from tests.mock_api import anthropic_client, openai_client, openai_reply, status
from tests.rate_limits import RateLimitedAPI

ITEMS = [
    Item(id=f"r{n}", title=f"Thing {n}", text=f"Thing number {n}", price=40.0) for n in range(120)
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(api: RateLimitedAPI, max_tokens: int = 10, path: str = "/v1/chat/completions"):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 40}]}
    body["max_tokens"] = max_tokens
    return api(httpx2.Request("POST", f"https://api.openai.com{path}", json=body))


# --- the stand-in ------------------------------------------------------------------------------


def test_standin_counts_requests_down_in_openai_headers_then_answers_429_with_retry_after():
    clock = Clock()
    api = RateLimitedAPI("openai", rpm=600, quantum=1.0, clock=clock)  # 10 a second
    answers = [ask(api) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    remaining = [int(a.headers["x-ratelimit-remaining-requests"]) for a in answers[:10]]
    assert remaining == list(range(9, -1, -1))
    assert answers[0].headers["x-ratelimit-limit-requests"] == "600"
    assert answers[9].headers["x-ratelimit-reset-requests"] == "1s"
    refused = answers[10]
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert "Please try again in 100ms" in error["message"]
    clock.now += 0.1  # one request's worth refilled
    assert ask(api).status_code == 200
    assert ask(api).status_code == 429
    assert api.limited == 2 and api.count == 13


def test_standin_counts_max_tokens_against_the_token_limit():
    api = RateLimitedAPI("openai", rpm=10_000, tpm=6_000, clock=Clock())
    first = ask(api, max_tokens=5_000)
    assert first.status_code == 200
    # 40 characters of prompt are 10 tokens, and max_tokens counts in full.
    assert first.headers["x-ratelimit-remaining-tokens"] == str(6_000 - 5_010)
    second = ask(api, max_tokens=5_000)
    assert second.status_code == 429 and second.json()["error"]["type"] == "tokens"


def test_standin_speaks_anthropic_headers_and_trues_up_the_output_estimate():
    clock = Clock()
    api = RateLimitedAPI("anthropic", rpm=50, tpm=40_000, output_tpm=8_000, clock=clock)
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5_000,
        "messages": [{"role": "user", "content": "y" * 400}],
    }
    request = httpx2.Request("POST", "https://api.anthropic.com/v1/messages", json=body)
    answer = api(request)
    assert answer.status_code == 200
    headers = answer.headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == str(40_000 - 100)
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == str(8_000 - 5_000)
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    # The estimate of 5,000 output tokens is given back but for the 4 the reply used.
    again = api(request)
    assert again.headers["anthropic-ratelimit-output-tokens-remaining"] == str(8_000 - 5_000 - 4)
    over = api(
        httpx2.Request(
            "POST", "https://api.anthropic.com/v1/messages", json={**body, "max_tokens": 8_000}
        )
    )
    assert over.status_code == 429
    assert over.json()["error"]["type"] == "rate_limit_error"
    assert int(over.headers["retry-after"]) >= 1


# --- reading what the server says --------------------------------------------------------------


def test_reset_times_and_retry_after_in_every_form_the_providers_use():
    assert seconds("6m0s") == 360
    assert seconds("1.5s") == 1.5
    assert seconds("120ms") == pytest.approx(0.12)
    assert seconds("2") == 2
    assert seconds("1m30.5s") == pytest.approx(90.5)
    assert seconds("not a time") is None
    assert 0 < seconds(limits_rfc3339(5)) <= 5
    found = windows(
        {
            "x-ratelimit-limit-requests": "600",
            "x-ratelimit-remaining-requests": "12",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "10000",
            "x-ratelimit-remaining-tokens": "9000",
        }
    )
    assert found["requests"] == Window(600, 12, pytest.approx(0.12))
    assert found["tokens"].remaining == 9000
    anthropic = windows(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "3",
            "anthropic-ratelimit-output-tokens-limit": "8000",
            "anthropic-ratelimit-output-tokens-remaining": "100",
        }
    )
    assert anthropic["requests"].remaining == 3 and anthropic["output"].limit == 8000


def limits_rfc3339(seconds_from_now: float) -> str:
    from tests.rate_limits import rfc3339

    return rfc3339(seconds_from_now)


# --- the limiter -------------------------------------------------------------------------------


def test_limiter_paces_requests_once_a_limit_is_nearly_spent_before_any_429():
    clock = Clock()
    limiter = AccountLimiter(clock=clock, jitter=lambda: 0.0)
    plenty = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "500"}
    ticket = limiter.acquire(deadline=clock.now + 1)
    limiter.release(ticket, plenty)
    assert limiter.interval == 0 and limiter.ready_in() == 0
    low = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "20"}
    limiter.release(limiter.acquire(clock.now + 1), low)
    assert limiter.interval == pytest.approx(0.1)  # 600 a minute: one every 0.1 s
    limiter.acquire(clock.now + 1)
    assert limiter.ready_in() == pytest.approx(0.1)
    # A token limit nearly spent paces at its own refill rate: 60 x 1,000 / 60,000 = 1 s.
    tokens = {"x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "10"}
    limiter.release(limiter.sent, tokens, tokens=1_000)
    assert limiter.interval == pytest.approx(1.0)
    assert limiter.rate_limited == 0


def test_limiter_cuts_concurrency_once_per_round_trip_on_429s_and_grows_it_back():
    clock = Clock()
    limiter = AccountLimiter(clock=clock, jitter=lambda: 1.0)
    tickets = [limiter.acquire(clock.now + 1) for _ in range(10)]
    assert limiter.concurrency == float("inf")
    told = {"retry-after": "2"}
    limiter.release(tickets[0], told, rate_limited=True, ok=False)
    assert limiter.concurrency == 8  # 0.8 x the 10 in flight
    # Retry-After, stretched by the jitter (here its most), holds every request of the account.
    assert limiter.ready_in() == pytest.approx(2 * (1 + limits.JITTER))
    for ticket in tickets[1:5]:  # answers to requests sent before the cut: the same storm
        limiter.release(ticket, told, rate_limited=True, ok=False)
    assert limiter.concurrency == 8 and limiter.rate_limited == 5
    clock.now += 3
    late = limiter.acquire(clock.now + 1)
    limiter.release(late, told, rate_limited=True, ok=False)  # a new 429: a new cut
    assert limiter.concurrency == 4  # 0.8 x the 6 then in flight, this one included
    for ticket in tickets[5:]:
        limiter.release(ticket, None)
    clock.now += 3
    # Additive increase: one more after a round of clean answers that filled the limit.
    for _ in range(4):
        round_trip = [limiter.acquire(clock.now + 1) for _ in range(4)]
        assert limiter.acquire(clock.now) is None  # the fifth waits: the limit is 4
        for ticket in round_trip:
            limiter.release(ticket, None)
        if limiter.concurrency > 4:
            break
    assert limiter.concurrency == 5


def test_retry_after_is_jittered_so_waiting_items_do_not_return_together():
    import tenacity

    def state_after(error):
        state = tenacity.RetryCallState(None, None, (), {})
        state.set_exception((type(error), error, None))
        return state

    api_error = _rate_limit_error({"retry-after": "1"})
    waits = {base._wait(state_after(api_error)) for _ in range(20)}
    assert all(1.0 <= wait <= 1.5 for wait in waits)
    assert len(waits) > 1


def _rate_limit_error(headers):
    import openai

    response = httpx2.Response(
        429,
        headers=headers,
        json={"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}},
        request=httpx2.Request("POST", "https://api.openai.com/v1/chat/completions"),
    )
    return openai.RateLimitError("slow down", response=response, body=response.json())


def test_pricers_of_one_account_share_one_limiter_whatever_the_model(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-one")
    first = OpenAIPricer("gpt-4o-mini", cache=False)
    second = OpenAIPricer("gpt-4.1-mini", cache=False)
    assert first.limiter is second.limiter
    elsewhere = OpenAIPricer("gpt-4o-mini", cache=False, base_url="https://proxy.example/v1")
    assert elsewhere.limiter is not first.limiter
    monkeypatch.setenv("OPENAI_API_KEY", "sk-two")
    assert OpenAIPricer("gpt-4o-mini", cache=False).limiter is not first.limiter
    assert AnthropicPricer("claude-haiku-4-5", cache=False).limiter is not first.limiter
    # Clients given by hand: one account per client object.
    api = RateLimitedAPI()
    client = openai_client(api)
    one = OpenAIPricer("gpt-4o-mini", client=client, cache=False)
    two = OpenAIPricer("gpt-4.1-mini", client=client, cache=False)
    assert one.limiter is two.limiter
    assert OpenAIPricer("gpt-4o-mini", client=openai_client(api), cache=False).limiter is not (
        one.limiter
    )


# --- runs against the stand-in -----------------------------------------------------------------


def test_a_run_at_32_workers_over_the_rate_limit_prices_every_item():
    """The issue's run: 32 workers against a limit that answers 429 with `retry-after: 1`
    stopped with items failed after 5 retries; now the limiter keeps to what the server allows."""
    # 20 requests a second, 5 at once: 32 workers meet the limit from their first requests.
    # One retry (max_retries=1) ended such a run within a second or two.
    api = RateLimitedAPI("openai", rpm=1_200, quantum=0.25, latency=0.05)
    client = openai_client(api)
    pricer = OpenAIPricer("gpt-4o-mini", client=client, cache=False, max_retries=1)
    results = Tester(pricer, ITEMS[:60], workers=32, progress=False).run()
    assert results.header.status == "complete", results.header.note
    assert results.n_failed == 0 and results.n_priced == 60
    assert api.limited > 0  # the limit was met: the test is about what happens then
    assert pricer.limiter.rate_limited == api.limited


def test_two_models_priced_at_once_share_the_account_limit():
    api = RateLimitedAPI("anthropic", rpm=6_000, quantum=0.1, latency=0.02)
    client = anthropic_client(api)
    pricers = [
        AnthropicPricer(model, client=client, cache=False)
        for model in ("claude-haiku-4-5", "claude-sonnet-4-6")
    ]
    outcomes = {}

    def run(pricer):
        outcomes[pricer.model] = Tester(pricer, ITEMS[:60], workers=16, progress=False).run()

    threads = [threading.Thread(target=run, args=(p,)) for p in pricers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pricers[0].limiter is pricers[1].limiter
    for results in outcomes.values():
        assert results.header.status == "complete", results.header.note
        assert results.n_failed == 0
    assert {body["model"] for body in api.bodies} == {"claude-haiku-4-5", "claude-sonnet-4-6"}


def test_429s_are_no_retries_and_stop_no_run_that_is_making_progress(tmp_path):
    """Every other request is a 429: with no retries allowed (max_retries=0), each item still
    gets its answer, and the run is not stopped after three 429s in a row."""
    count = iter(range(10_000))

    def every_other(request):
        if next(count) % 2 == 0:
            return status(429, {"retry-after": "0.01"})
        return httpx2.Response(200, json=openai_reply("Price is $42.00"))

    pricer = OpenAIPricer(
        "gpt-4o-mini", client=openai_client(every_other), cache=False, max_retries=0
    )
    results = Tester(pricer, ITEMS[:6], progress=False).run()
    assert results.header.status == "complete", results.header.note
    assert results.n_priced == 6


def test_an_exhausted_quota_still_stops_the_run_at_once(tmp_path):
    quota = {
        "message": "You exceeded your current quota",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
    calls = []

    def broke(request):
        calls.append(request)
        return httpx2.Response(429, json={"error": quota})

    pricer = OpenAIPricer("gpt-4o-mini", client=openai_client(broke), cache=False)
    results = Tester(pricer, ITEMS[:5], progress=False).run()
    assert results.header.status == "stopped" and "quota" in results.header.note
    assert len(calls) == 1
