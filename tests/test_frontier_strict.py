"""The frontier pricers against strict stand-ins that enforce the providers' documented rules.

Each model family the catalogue knows is priced end to end through the real SDK: a request that a
real model would reject fails here as it would there (see `tests/strict_api.py`).
"""

from __future__ import annotations

import socket
import time

import pytest

from pricebench import Item, Tester
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.base import ReplyCutOff
from pricebench.chat.openai import OpenAIPricer
from pricebench.errors import PricerError
from tests.strict_api import StrictAnthropic, StrictOpenAI, anthropic_client, openai_client

ITEMS = [
    Item(id=f"s{n}", title=f"Widget {n}", text=f"Title: Widget {n}\nUseful.", price=40.0 + n)
    for n in range(10)
]


def openai_pricer(server: StrictOpenAI, model: str, tmp_path, **options) -> OpenAIPricer:
    options.setdefault("cache", False)
    options.setdefault("max_retries", 1)
    return OpenAIPricer(model, client=openai_client(server), **options)


def anthropic_pricer(api: StrictAnthropic, model: str, **options) -> AnthropicPricer:
    options.setdefault("cache", False)
    options.setdefault("max_retries", 1)
    return AnthropicPricer(model, client=anthropic_client(api), **options)


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini", "gpt-5.5", "o3", "gpt-6-astra"]
)
@pytest.mark.parametrize("api_kind", ["chat", "responses"])
def test_openai_families_price_every_item(model, api_kind, tmp_path):
    api = StrictOpenAI()
    results = Tester(openai_pricer(api, model, tmp_path, api=api_kind), ITEMS[:4]).run()
    assert results.n_failed == 0, [r.failure for r in results.records]
    assert all(r.guess == 42.0 for r in results.records)
    assert results.cost > 0 and results.cost_known


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-6",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-sonnet-5",
        "claude-haiku-4-5",
    ],
)
def test_claude_families_price_every_item(model):
    api = StrictAnthropic()
    results = Tester(anthropic_pricer(api, model), ITEMS[:4]).run()
    assert results.n_failed == 0, [r.failure for r in results.records]
    assert all(r.guess == 42.0 for r in results.records)
    assert results.cost > 0 and results.cost_known


def test_prefill_only_where_the_model_accepts_it():
    old, new = StrictAnthropic(), StrictAnthropic()
    anthropic_pricer(old, "claude-haiku-4-5").estimate(ITEMS[0])
    anthropic_pricer(new, "claude-sonnet-4-6").estimate(ITEMS[0])
    assert old.bodies[0]["messages"][-1] == {"role": "assistant", "content": "Price is $"}
    assert new.bodies[0]["messages"][-1]["role"] == "user"


def test_claude_temperature_goes_out_where_accepted_and_is_refused_where_not():
    api = StrictAnthropic()
    # anthropic 2's messages.create has no `temperature` keyword: it travels in the body.
    anthropic_pricer(api, "claude-haiku-4-5", temperature=0.0).estimate(ITEMS[0])
    assert api.bodies[0]["temperature"] == 0.0
    with pytest.raises(PricerError, match="does not accept temperature"):
        anthropic_pricer(api, "claude-opus-4-7", temperature=0.0)
    assert api.count == 1


def test_reasoning_models_get_room_to_think_and_the_lowest_effort(tmp_path):
    api = StrictOpenAI()
    openai_pricer(api, "gpt-5-mini", tmp_path).estimate(ITEMS[0])
    openai_pricer(api, "o3", tmp_path).estimate(ITEMS[0])
    gpt5, o3 = api.bodies
    assert gpt5["reasoning_effort"] == "minimal" and gpt5["max_completion_tokens"] >= 256
    assert o3["reasoning_effort"] == "low" and o3["max_completion_tokens"] >= 1024
    for body in (gpt5, o3):
        assert "max_tokens" not in body and "temperature" not in body and "seed" not in body


def test_a_cut_off_reasoning_reply_says_so_and_its_cost_counts(tmp_path):
    api = StrictOpenAI()
    pricer = openai_pricer(api, "gpt-5-mini", tmp_path, max_tokens=16, reasoning_effort="low")
    results = Tester(pricer, ITEMS[:2]).run()
    assert results.n_failed == 2
    failure = results.records[0].failure
    assert "reasoning used the whole output budget" in failure and "raise max_tokens" in failure
    assert all(r.cost and r.cost > 0 for r in results.records)  # paid, though no price came
    assert results.header.totals["cost"] == pytest.approx(results.cost) and results.cost > 0


def test_responses_api_cut_off_is_reported_too(tmp_path):
    api = StrictOpenAI()
    pricer = openai_pricer(
        api, "gpt-5-mini", tmp_path, api="responses", max_tokens=16, reasoning_effort="low"
    )
    with pytest.raises(ReplyCutOff, match="reasoning used the whole output budget") as caught:
        pricer.estimate(ITEMS[0])
    assert caught.value.cost > 0


def test_effort_a_model_does_not_know_is_refused_before_any_call(tmp_path):
    api = StrictOpenAI()
    with pytest.raises(PricerError, match="effort 'minimal'"):
        openai_pricer(api, "gpt-5.5", tmp_path, reasoning_effort="minimal")
    with pytest.raises(PricerError, match="takes no reasoning effort"):
        openai_pricer(api, "gpt-4o-mini", tmp_path, reasoning_effort="low")
    assert api.count == 0


def test_shut_down_models_are_refused_naming_the_date(tmp_path):
    with pytest.raises(PricerError, match="2026-10-23"):
        openai_pricer(StrictOpenAI(), "o4-mini", tmp_path)
    with pytest.raises(PricerError, match="retired"):
        anthropic_pricer(StrictAnthropic(), "claude-3-5-sonnet-20240620")


def test_insufficient_quota_stops_the_run_at_once(tmp_path):
    api = StrictOpenAI(quota=False)
    results = Tester(openai_pricer(api, "gpt-4o-mini", tmp_path, max_retries=5), ITEMS).run()
    assert api.count == 1  # not 6 tries per item, not 60 requests for 10 items
    assert results.header.status == "stopped" and "quota" in results.header.note


def test_a_rejected_key_stops_the_run_and_is_not_echoed(tmp_path):
    api = StrictOpenAI(key="sk-right")
    pricer = OpenAIPricer(
        "gpt-4o-mini", client=openai_client(api, api_key="sk-wrong-0123456789"), cache=False
    )
    results = Tester(pricer, ITEMS).run()
    assert api.count == 1 and results.header.status == "stopped"
    assert "AuthenticationError" in results.header.note


def test_an_unknown_model_stops_the_run(tmp_path):
    api = StrictAnthropic()
    results = Tester(anthropic_pricer(api, "claude-nonexistent-9"), ITEMS).run()
    assert api.count == 1 and results.header.status == "stopped"
    assert "NotFoundError" in results.header.note


def test_the_same_invalid_request_on_several_items_stops_the_run(tmp_path):
    api = StrictOpenAI()
    # The stand-in rejects max_tokens on reasoning models; a hand-made client call that sends
    # it shows the streak rule: three items fail alike, then the run stops.
    pricer = openai_pricer(api, "gpt-5-mini", tmp_path)
    original = pricer.request
    pricer.request = lambda item: {**original(item), "max_tokens": 5}  # type: ignore[method-assign]
    results = Tester(pricer, ITEMS).run()
    # Two items fail and are recorded; the third's failure stops the run (and stays unpriced,
    # to be priced when the run resumes after the fix).
    assert api.count == 3 and results.n_failed == 2
    assert results.header.status == "stopped" and "rejects every request" in results.header.note


def test_transient_errors_are_retried_honouring_retry_after(tmp_path):
    import httpx2

    api = StrictOpenAI()
    answers = iter(
        [
            httpx2.Response(
                429,
                headers={"retry-after": "0.05"},
                json={
                    "error": {
                        "message": "slow down",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                },
            ),
            httpx2.Response(503, json={"error": {"message": "busy", "type": "server_error"}}),
        ]
    )

    def flaky(request):
        return next(answers, None) or api(request)

    pricer = OpenAIPricer("gpt-4o-mini", client=openai_client(flaky), cache=False, max_retries=3)
    started = time.monotonic()
    assert pricer.estimate(ITEMS[0]).price == 42.0
    assert time.monotonic() - started >= 0.05


def test_a_dead_server_stops_the_run_within_seconds(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pricer = OpenAIPricer(
        "llama3.2", base_url=f"http://127.0.0.1:{port}/v1", compatible=True, cache=False
    )
    started = time.monotonic()
    results = Tester(pricer, ITEMS * 5).run()
    assert time.monotonic() - started < 30
    assert results.header.status == "stopped"
    assert f"cannot reach http://127.0.0.1:{port}/v1: is the server running?" in results.header.note
    assert len(results.records) <= 3


def test_openai_compatible_never_gets_the_openai_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-SECRET")
    monkeypatch.setenv("GROQ_API_KEY", "gsk_groq_key_123")
    api = StrictOpenAI(compatible=True)

    def client(self, key):
        return openai_client(api, api_key=key, base_url=self.base_url)

    monkeypatch.setattr(OpenAIPricer, "_make_client", client)
    OpenAIPricer(
        "llama3.2", base_url="http://localhost:11434/v1", compatible=True, cache=False
    ).estimate(ITEMS[0])
    OpenAIPricer(
        "llama-3.1-8b-instant",
        base_url="https://api.groq.com/openai/v1",
        compatible=True,
        api_key_env="GROQ_API_KEY",
        cache=False,
    ).estimate(ITEMS[0])
    headers = [r.headers["authorization"] for r in api.requests]
    assert "sk-openai-SECRET" not in " ".join(headers)
    assert headers[1] == "Bearer gsk_groq_key_123"


def test_the_cache_never_serves_one_endpoint_for_another(tmp_path):
    api = StrictOpenAI(compatible=True)
    for url in ("http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"):
        pricer = OpenAIPricer(
            "llama3.2",
            base_url=url,
            compatible=True,
            client=openai_client(api, base_url=url),
            cache=tmp_path / "cache.sqlite",
        )
        pricer.estimate(ITEMS[0])
    assert api.count == 2


def test_anthropic_base_url_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    api = StrictAnthropic()

    def client(self, key):
        return anthropic_client(api, api_key=key, base_url=self.base_url)

    monkeypatch.setattr(AnthropicPricer, "_make_client", client)
    pricer = AnthropicPricer(
        "claude-haiku-4-5", base_url="https://gateway.example/anthropic", cache=False
    )
    pricer.estimate(ITEMS[0])
    assert api.requests[0].url.host == "gateway.example"
    assert pricer.get_params()["endpoint"] == "https://gateway.example/anthropic"


def test_a_base_url_from_the_sdks_environment_variable_is_recorded_and_keyed(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8999/v1")
    api = StrictOpenAI()
    pricer = OpenAIPricer(
        "gpt-4o-mini", client=openai_client(api), cache=tmp_path / "c.sqlite", max_retries=0
    )
    assert pricer.base_url == "http://127.0.0.1:8999/v1"
    assert pricer.get_params()["endpoint"] == "http://127.0.0.1:8999/v1"
    pricer.estimate(ITEMS[0])
    monkeypatch.delenv("OPENAI_BASE_URL")
    real = OpenAIPricer("gpt-4o-mini", client=openai_client(api), cache=tmp_path / "c.sqlite")
    real.estimate(ITEMS[0])
    assert api.count == 2  # the proxy's answer is not served as OpenAI's


def test_a_server_that_keeps_failing_stops_the_run(tmp_path):
    import httpx2

    calls = []

    def broken(request):
        calls.append(request)
        return httpx2.Response(500, json={"error": {"message": "boom", "type": "server_error"}})

    pricer = OpenAIPricer(
        "llama3.2",
        base_url="http://127.0.0.1:8000/v1",
        compatible=True,
        client=openai_client(broken),
        cache=False,
        max_retries=1,
    )
    results = Tester(pricer, ITEMS).run()
    assert results.header.status == "stopped" and "keeps failing" in results.header.note
    assert len(calls) == 3 * 2  # three items, two attempts each, then the run stops


def test_a_query_string_in_the_base_url_stays_a_query():
    # A real socket and the client pricebench makes itself: the SDK appends the API path to the
    # base URL as text, so the query must travel apart from it.
    import json as json_module
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []
    reply = StrictOpenAI("Price is $42.00", compatible=True)._chat("m", 0, 100)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers["content-length"]))
            seen.append(self.path)
            body = json_module.dumps(reply.json()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1?api-key=KEY123"
        pricer = OpenAIPricer("m", base_url=url, compatible=True, cache=False, max_retries=0)
        assert pricer.estimate(ITEMS[0]).price == 42.0
    finally:
        server.shutdown()
    assert seen == ["/v1/chat/completions?api-key=KEY123"]
    assert "KEY123" not in pricer.get_params()["endpoint"]
