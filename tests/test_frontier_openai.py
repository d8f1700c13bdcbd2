"""OpenAIPricer through the real openai SDK, answered by a mock chat completions endpoint."""

from __future__ import annotations

import json

import httpx2
import pytest

from pricebench import Item, Tester, make_pricer
from pricebench.chat.cache import ResponseCache
from pricebench.chat.openai import OpenAIPricer
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.errors import PriceParseError, PricerError, StopRun
from tests.mock_api import MockAPI, openai_client, openai_reply, openai_response, status

ITEMS = [
    Item(id=f"i{n}", title=f"Thing {n}", text=f"Title: Thing {n}\nA useful thing.", price=10.0 * n)
    for n in range(1, 6)
]


def pricer(mock: MockAPI, tmp_path, **options) -> OpenAIPricer:
    options.setdefault("cache", tmp_path / "cache.sqlite")
    options.setdefault("max_retries", 2)
    return OpenAIPricer("gpt-4o-mini", client=openai_client(mock), **options)


def test_normal_run_sends_the_course_prompt_and_records_tokens(tmp_path):
    api = MockAPI(default=openai_reply("Price is $42.50", prompt_tokens=100, completion_tokens=4))
    results = Tester(pricer(api, tmp_path), ITEMS, workers=3).run()
    assert results.n_priced == 5 and results.n_failed == 0
    assert all(r.guess == 42.5 for r in results.records)
    assert all(r.input_tokens == 100 and r.output_tokens == 4 for r in results.records)
    body = api.bodies[0]
    assert api.requests[0].url.path == "/v1/chat/completions"
    assert body["model"] == "gpt-4o-mini"
    assert body["seed"] == 42
    assert body["messages"][0] == {"role": "system", "content": COURSE_PROMPT.system}
    assert body["messages"][1]["role"] == "user"
    assert body["messages"][1]["content"].startswith("How much does this cost?\n\nTitle: Thing")
    assert body["messages"][2] == {"role": "assistant", "content": "Price is $"}


def test_prefill_continuation_and_custom_prompt(tmp_path):
    api = MockAPI(default=openai_reply("1,299.99"))
    prompt = PromptTemplate(system="Be brief.", user="Item: {title}", prefill="The price is $")
    estimate = pricer(api, tmp_path, prompt=prompt).estimate(ITEMS[0])
    assert estimate.price == 1299.99
    assert api.bodies[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Item: Thing 1"},
        {"role": "assistant", "content": "The price is $"},
    ]


def test_429_with_retry_after_is_retried_after_the_given_delay(tmp_path):
    api = MockAPI(status(429, {"Retry-After": "0.05"}), openai_reply("$12"))
    estimate = pricer(api, tmp_path).estimate(ITEMS[0])
    assert estimate.price == 12.0
    assert api.count == 2
    waited = api.times[1] - api.times[0]
    # The SDK's own backoff would wait at least 0.375 s: a shorter wait means Retry-After won.
    assert 0.05 <= waited < 0.35


def test_500_then_success(tmp_path):
    api = MockAPI(status(500), status(503), openai_reply("Price is $7"))
    assert pricer(api, tmp_path).estimate(ITEMS[0]).price == 7.0
    assert api.count == 3


def test_timeout_is_retried_then_recorded_as_a_failure(tmp_path):
    api = MockAPI(default=httpx2.ReadTimeout("mock: no answer"))
    results = Tester(pricer(api, tmp_path, max_retries=1), ITEMS[:1]).run()
    assert api.count == 2
    record = results.records[0]
    assert record.failed and record.guess is None
    assert "APITimeoutError" in record.failure


def test_persistent_failure_is_a_failure_not_a_guess(tmp_path):
    api = MockAPI(default=status(500, message="server on fire"))
    results = Tester(pricer(api, tmp_path, max_retries=1), ITEMS[:2]).run()
    assert api.count == 4  # two items, each tried twice
    assert results.n_failed == 2 and results.n_priced == 0
    assert all("InternalServerError" in r.failure for r in results.records)


def test_unparseable_reply_fails_and_keeps_the_reply(tmp_path):
    api = MockAPI(default=openai_reply("I cannot say."))
    with pytest.raises(PriceParseError) as caught:
        pricer(api, tmp_path).estimate(ITEMS[0])
    assert caught.value.reply == "I cannot say."
    results = Tester(pricer(api, tmp_path), ITEMS[:1]).run()
    assert results.records[0].failed and results.records[0].reply == "I cannot say."


def test_refusal_is_a_failure(tmp_path):
    api = MockAPI(default=openai_reply(None, refusal="I can't help with that."))
    with pytest.raises(PriceParseError):
        pricer(api, tmp_path).estimate(ITEMS[0])


def test_rerun_is_answered_from_the_cache_without_any_request(tmp_path):
    api = MockAPI(default=openai_reply("Price is $20", prompt_tokens=50, completion_tokens=2))
    first = Tester(pricer(api, tmp_path), ITEMS).run()
    assert api.count == 5 and first.cost > 0
    again = Tester(pricer(api, tmp_path), ITEMS).run()
    assert api.count == 5  # not one more request
    assert all(r.cached and r.guess == 20.0 for r in again.records)
    assert again.cost == 0.0
    # A different parameter is a different question.
    pricer(api, tmp_path, seed=7).estimate(ITEMS[0])
    assert api.count == 6


def test_no_cache_asks_every_time(tmp_path):
    api = MockAPI(default=openai_reply("Price is $20"))
    p = pricer(api, tmp_path, cache=False)
    p.estimate(ITEMS[0])
    p.estimate(ITEMS[0])
    assert api.count == 2


def test_cost_accounting_uses_usage_and_the_price_table(tmp_path):
    api = MockAPI(default=openai_reply("$5", prompt_tokens=1_000, completion_tokens=10))
    results = Tester(pricer(api, tmp_path), ITEMS).run()
    per_item = (1_000 * 0.15 + 10 * 0.60) / 1e6  # gpt-4o-mini: $0.15 / $0.60 per million
    assert all(r.cost == pytest.approx(per_item) for r in results.records)
    assert results.header.totals["cost"] == pytest.approx(5 * per_item)
    assert results.header.totals["input_tokens"] == 5_000
    assert results.header.totals["output_tokens"] == 50


def test_budget_cap_stops_the_run_cleanly(tmp_path):
    api = MockAPI(default=openai_reply("$5", prompt_tokens=1_000_000, completion_tokens=0))
    p = pricer(api, tmp_path, budget=0.30)  # each call costs $0.15
    results = Tester(p, ITEMS, out=tmp_path / "run").run()
    assert results.header.status == "stopped"
    assert "budget" in results.header.note
    assert api.count == 2 and results.n_priced == 2
    with pytest.raises(StopRun):
        p.estimate(ITEMS[4])


def test_structured_output_sends_a_json_schema_and_reads_the_price(tmp_path):
    api = MockAPI(default=openai_reply('{"price": 19.99}'))
    estimate = pricer(api, tmp_path, structured=True).estimate(ITEMS[0])
    assert estimate.price == 19.99
    body = api.bodies[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["price"]
    assert body["messages"][-1]["role"] == "user"  # no prefill with a schema
    api.default = openai_reply('{"cost": 3}')
    with pytest.raises(PriceParseError):
        pricer(api, tmp_path, structured=True, seed=1).estimate(ITEMS[0])


def test_missing_key_fails_at_construction(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(PricerError, match="OPENAI_API_KEY"):
        make_pricer("openai:gpt-4o-mini", cache=False)


def test_authentication_error_stops_the_run(tmp_path):
    api = MockAPI(default=status(401, message="Incorrect API key provided"))
    results = Tester(pricer(api, tmp_path), ITEMS, out=tmp_path / "run").run()
    assert results.header.status == "stopped"
    assert api.count == 1  # 401 is not retried, and no other item is tried


def test_api_key_is_never_written_anywhere(tmp_path, monkeypatch):
    secret = "sk-proj-SECRET-do-not-store-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    api = MockAPI(default=openai_reply("Price is $9"))
    # The pricer makes its own client from the environment; only the transport is a mock.
    monkeypatch.setattr(
        OpenAIPricer,
        "_make_client",
        lambda self, key: openai_client(api, api_key=key),
    )
    p = OpenAIPricer("gpt-4o-mini", cache=tmp_path / "cache.sqlite")
    Tester(p, ITEMS, out=tmp_path / "run", workers=2).run()
    Tester(p, ITEMS, out=tmp_path / "run2").run()  # from the cache
    assert api.requests[0].headers["authorization"] == f"Bearer {secret}"
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) >= 5  # cache (+ WAL files), two run headers and item files
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in json.dumps(p.get_params())
    assert secret not in repr(p)


def test_openai_compatible_spec_talks_to_the_given_server(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    p = make_pricer("openai-compatible:llama3.2@http://localhost:11434/v1", cache=False)
    assert p.base_url == "http://localhost:11434/v1"
    assert p.model == "llama3.2"
    assert str(p.client.base_url) == "http://localhost:11434/v1/"
    assert "max_tokens" in p.request(ITEMS[0])
    assert p.cache_namespace != "openai"  # same model name elsewhere is another question


def test_openai_compatible_through_a_mock_server(tmp_path):
    api = MockAPI(default=openai_reply("Price is $3.50", model="llama3.2"))
    client = openai_client(api, base_url="http://localhost:8000/v1")
    p = OpenAIPricer(
        "llama3.2",
        base_url="http://localhost:8000/v1",
        compatible=True,
        client=client,
        cache=tmp_path / "c",
    )
    estimate = p.estimate(ITEMS[0])
    # A server of one's own has no list price: the cost is unknown, never a silent $0.
    assert estimate.price == 3.5 and estimate.cost is None
    assert api.requests[0].url.host == "localhost"
    assert "max_tokens" in api.bodies[0]  # the older name, which such servers know


def test_pricer_is_usable_from_many_threads(tmp_path):
    api = MockAPI(default=openai_reply("Price is $11"))
    items = [
        Item(id=f"t{n}", title=f"T{n}", text=f"thing number {n}", price=5.0) for n in range(40)
    ]
    results = Tester(pricer(api, tmp_path), items, workers=8).run()
    assert results.n_priced == 40 and api.count == 40
    assert len(ResponseCache(tmp_path / "cache.sqlite")) == 40


def test_unparseable_replies_count_towards_the_budget(tmp_path):
    api = MockAPI(default=openai_reply("no idea", prompt_tokens=1_000_000, completion_tokens=0))
    p = pricer(api, tmp_path, budget=0.15, cache=False)
    with pytest.raises(PriceParseError):
        p.estimate(ITEMS[0])
    assert p.spent_ == pytest.approx(0.15)
    with pytest.raises(StopRun):
        p.estimate(ITEMS[1])
    assert api.count == 1


def test_a_malformed_response_is_not_cached(tmp_path):
    api = MockAPI({"id": "x", "object": "chat.completion", "choices": []}, openai_reply("$8"))
    p = pricer(api, tmp_path)
    with pytest.raises(PricerError, match="no choices"):
        p.estimate(ITEMS[0])
    assert p.estimate(ITEMS[0]).price == 8.0
    assert api.count == 2


def test_estimate_from_a_batch_result_body_bills_half(tmp_path):
    p = pricer(MockAPI(), tmp_path)
    body = openai_reply("Price is $15", prompt_tokens=1_000, completion_tokens=10)
    full = p.estimate_from(body)
    half = p.estimate_from(body, batch=True)
    assert full.price == half.price == 15.0
    assert half.cost == pytest.approx(full.cost / 2)


def test_responses_api(tmp_path):
    api = MockAPI(default=openai_response("Price is $64.00", input_tokens=200, output_tokens=5))
    p = pricer(api, tmp_path, api="responses")
    estimate = p.estimate(ITEMS[0])
    assert estimate.price == 64.0
    assert (estimate.input_tokens, estimate.output_tokens) == (200, 5)
    assert estimate.cost == pytest.approx((200 * 0.15 + 5 * 0.6) / 1e6)
    assert api.requests[0].url.path == "/v1/responses" == p.path
    body = api.bodies[0]
    assert body["input"][-1] == {"role": "assistant", "content": "Price is $"}
    assert body["max_output_tokens"] == 16 and body["store"] is False
    assert "reasoning" not in body  # gpt-4o-mini does not reason
    assert p.get_params()["api"] == "responses"


def test_responses_api_structured(tmp_path):
    api = MockAPI(default=openai_response('{"price": 5.25}'))
    assert pricer(api, tmp_path, api="responses", structured=True).estimate(ITEMS[0]).price == 5.25
    assert api.bodies[0]["text"]["format"]["schema"]["required"] == ["price"]
