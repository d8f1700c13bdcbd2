"""AnthropicPricer through the real anthropic SDK, answered by a mock Messages endpoint."""

from __future__ import annotations

import json

import httpx2
import pytest

from pricebench import Item, Tester, make_pricer
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.prompts import COURSE_PROMPT
from pricebench.errors import PriceParseError, PricerError
from tests.mock_api import MockAPI, anthropic_client, anthropic_reply, status

ITEMS = [
    Item(id=f"a{n}", title=f"Gadget {n}", text=f"Title: Gadget {n}\nShiny.", price=20.0 * n)
    for n in range(1, 4)
]
MODEL = "claude-haiku-4-5-20251001"


def pricer(api: MockAPI, tmp_path, **options) -> AnthropicPricer:
    options.setdefault("cache", tmp_path / "cache.sqlite")
    options.setdefault("max_retries", 2)
    return AnthropicPricer(MODEL, client=anthropic_client(api), **options)


def test_normal_run_with_prefill_as_a_real_assistant_turn(tmp_path):
    api = MockAPI(default=anthropic_reply("89.99", input_tokens=200, output_tokens=3))
    results = Tester(pricer(api, tmp_path), ITEMS, workers=2).run()
    assert results.n_priced == 3
    assert all(r.guess == 89.99 and r.reply == "89.99" for r in results.records)
    body = api.bodies[0]
    assert api.requests[0].url.path == "/v1/messages"
    assert body["model"] == MODEL
    assert body["system"] == COURSE_PROMPT.system
    assert body["messages"][0]["role"] == "user"
    assert body["messages"][-1] == {"role": "assistant", "content": "Price is $"}
    assert body["max_tokens"] == 16
    assert "seed" not in body  # the Messages API has none


def test_cost_from_usage(tmp_path):
    api = MockAPI(default=anthropic_reply("10", input_tokens=1_000, output_tokens=100))
    estimate = pricer(api, tmp_path).estimate(ITEMS[0])
    assert estimate.input_tokens == 1_000 and estimate.output_tokens == 100
    assert estimate.cost == pytest.approx((1_000 * 1.0 + 100 * 5.0) / 1e6)  # Haiku 4.5


def test_overloaded_529_and_429_are_retried(tmp_path):
    api = MockAPI(status(529), status(429, {"retry-after": "0.02"}), anthropic_reply("15"))
    assert pricer(api, tmp_path).estimate(ITEMS[0]).price == 15.0
    assert api.count == 3


def test_timeout_then_failure_recorded(tmp_path):
    api = MockAPI(default=httpx2.ConnectTimeout("mock: no connection"))
    results = Tester(pricer(api, tmp_path, max_retries=1), ITEMS[:1]).run()
    assert api.count == 2
    assert results.records[0].failed and "APITimeoutError" in results.records[0].failure


def test_unparseable_reply_keeps_the_reply(tmp_path):
    api = MockAPI(default=anthropic_reply("a fair amount"))
    with pytest.raises(PriceParseError) as caught:
        pricer(api, tmp_path).estimate(ITEMS[0])
    assert caught.value.reply == "a fair amount"


def test_rerun_from_cache(tmp_path):
    api = MockAPI(default=anthropic_reply("30"))
    Tester(pricer(api, tmp_path), ITEMS).run()
    again = Tester(pricer(api, tmp_path), ITEMS).run()
    assert api.count == 3
    assert all(r.cached for r in again.records)


def test_structured_output_uses_output_config(tmp_path):
    api = MockAPI(default=anthropic_reply('{"price": 44.5}'))
    estimate = pricer(api, tmp_path, structured=True).estimate(ITEMS[0])
    assert estimate.price == 44.5
    body = api.bodies[0]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["messages"][-1]["role"] == "user"


def test_missing_key_fails_at_construction(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(PricerError, match="ANTHROPIC_API_KEY"):
        make_pricer(f"anthropic:{MODEL}", cache=False)


def test_key_never_written(tmp_path, monkeypatch):
    secret = "test-anthropic-SECRET-never-store"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    api = MockAPI(default=anthropic_reply("12"))
    monkeypatch.setattr(
        AnthropicPricer, "_make_client", lambda self, key: anthropic_client(api, api_key=key)
    )
    p = AnthropicPricer(MODEL, cache=tmp_path / "cache.sqlite")
    Tester(p, ITEMS, out=tmp_path / "run").run()
    sent = dict(api.requests[0].headers)
    assert any(secret in value for value in sent.values())  # the key was really used
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in json.dumps(p.get_params())
