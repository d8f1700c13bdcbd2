"""Each call's cost is genai-prices' own figure for the usage the API reported.

The stand-ins report usage shaped as the real APIs do (OpenAI `prompt_tokens_details.
cached_tokens` and `completion_tokens_details.reasoning_tokens`, the Responses API's
`input_tokens_details.cached_tokens`, Anthropic's `cache_read_input_tokens` and
`cache_creation_input_tokens` beside `input_tokens`); the reference is genai-prices'
`extract_usage(...).calc_price(...)` on the very response body, so neither side's reading of
the usage is taken on trust.
"""

from __future__ import annotations

import json
from typing import Any

import genai_prices
import httpx2
import pytest

from pricebench import Tester
from pricebench.chat import costs
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.openai import OpenAIPricer
from pricebench.results import read_run
from tests.strict_api import StrictAnthropic, StrictOpenAI, anthropic_client, openai_client
from tests.test_frontier_strict import ITEMS


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.setattr(costs, "_overrides", {})
    monkeypatch.setattr(costs, "_env_loaded", False)
    monkeypatch.delenv(costs.PRICES_ENV, raising=False)


class Seen:
    """A transport that keeps every response body the stand-in sent."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        response = self.api(request)
        self.bodies.append(json.loads(response.content))
        return response


def reference(body: dict[str, Any], provider: str, flavor: str, batch: bool = False) -> float:
    """genai-prices' price of one response body, read by genai-prices itself."""
    extracted = genai_prices.extract_usage(body, provider_id=provider, api_flavor=flavor)
    context = {"processing": "batch"} if batch else None
    return float(extracted.calc_price(price_context=context).total_price)


def openai(server: StrictOpenAI, model: str, **options: Any) -> tuple[OpenAIPricer, Seen]:
    seen = Seen(server)
    return OpenAIPricer(model, client=openai_client(seen), cache=False, **options), seen


def anthropic(api: StrictAnthropic, model: str) -> tuple[AnthropicPricer, Seen]:
    seen = Seen(api)
    return AnthropicPricer(model, client=anthropic_client(seen), cache=False), seen


@pytest.mark.parametrize("api_kind", ["chat", "responses"])
@pytest.mark.parametrize(
    ("prompt", "cached"),
    [(1_000, 0), (300_000, 0), (1_000, 800), (300_000, 250_000)],
    ids=["below-tier", "above-tier", "cached", "above-tier-cached"],
)
def test_openai_cost_is_genai_prices_on_the_reported_usage(api_kind, prompt, cached):
    # gpt-5.5 has a long-context tier above 272k input tokens; a rate taken once from a
    # 1M-token usage charged the higher tier on every call (2x), and cached tokens were ignored.
    api = StrictOpenAI(prompt_tokens=prompt, cached_tokens=cached)
    pricer, seen = openai(api, "gpt-5.5", api=api_kind)
    estimate = pricer.estimate(ITEMS[0])
    flavor = "responses" if api_kind == "responses" else "chat"
    assert estimate.cost == pytest.approx(reference(seen.bodies[-1], "openai", flavor), rel=1e-9)
    assert estimate.input_tokens == prompt and estimate.cache_read_tokens == cached


def test_openai_tier_and_cache_change_the_cost_as_the_price_list_says():
    def cost(prompt: int, cached: int = 0) -> float:
        pricer, _ = openai(StrictOpenAI(prompt_tokens=prompt, cached_tokens=cached), "gpt-5.5")
        value = pricer.estimate(ITEMS[0]).cost
        assert value is not None
        return value

    # Below the tier, 1,000 prompt tokens at gpt-5.5's base rate; above it, the higher rate.
    assert cost(1_000) < cost(300_000) / 300 * 1.01
    assert cost(1_000, cached=1_000) < cost(1_000)  # cached reads bill at a fraction


def test_openai_batch_cost_is_genai_prices_batch_price():
    api = StrictOpenAI(prompt_tokens=2_000, cached_tokens=1_024)
    pricer, seen = openai(api, "gpt-5.5")
    pricer.estimate(ITEMS[0])
    body = seen.bodies[-1]
    batch = pricer.estimate_from(body, batch=True).cost
    assert batch == pytest.approx(reference(body, "openai", "chat", batch=True), rel=1e-9)
    assert batch == pytest.approx(reference(body, "openai", "chat") / 2, rel=1e-9)


@pytest.mark.parametrize(
    ("model", "uncached", "read", "written"),
    [
        ("claude-haiku-5-5", 1_000, 0, 0),
        ("claude-haiku-5-5", 150_000, 0, 0),  # above Haiku 5.5's 100k-token prompt tier
        ("claude-sonnet-4-6", 200, 5_000, 0),
        ("claude-sonnet-4-6", 200, 0, 5_000),
        ("claude-haiku-5-5", 20_000, 90_000, 1_000),
    ],
)
def test_anthropic_cost_is_genai_prices_on_the_reported_usage(model, uncached, read, written):
    api = StrictAnthropic(input_tokens=uncached, cache_read=read, cache_write=written)
    pricer, seen = anthropic(api, model)
    estimate = pricer.estimate(ITEMS[0])
    body = seen.bodies[-1]
    assert estimate.cost == pytest.approx(reference(body, "anthropic", "default"), rel=1e-9)
    # Anthropic leaves cached tokens out of input_tokens: they are counted back in.
    assert estimate.input_tokens == uncached + read + written
    assert (estimate.cache_read_tokens, estimate.cache_write_tokens) == (read, written)
    batch = pricer.estimate_from(body, batch=True).cost
    assert batch == pytest.approx(reference(body, "anthropic", "default", batch=True), rel=1e-9)


def test_overrides_are_computed_with_cache_and_tier_rates(tmp_path, monkeypatch):
    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps(
            {
                "gpt-5.5": {
                    "input": 1.0,
                    "output": 2.0,
                    "cache_read": 0.1,
                    "tiers": [{"above": 10_000, "input": 3.0, "output": 4.0}],
                }
            }
        )
    )
    monkeypatch.setenv(costs.PRICES_ENV, str(table))
    usage = costs.TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert costs.cost("gpt-5.5", usage) == pytest.approx(3.0 + 4.0)  # the tier, on every token
    small = costs.TokenUsage(input_tokens=1_000, output_tokens=1_000, cache_read_tokens=500)
    assert costs.cost("gpt-5.5", small) == pytest.approx(
        (500 * 1.0 + 500 * 0.1 + 1_000 * 2.0) / 1e6
    )
    assert costs.cost("gpt-5.5", small, batch=True) == pytest.approx(
        costs.cost("gpt-5.5", small) / 2  # type: ignore[operator]
    )
    costs.set_price("gpt-5.5", 1.0, 2.0)  # no cache rate given: cached tokens bill as input
    assert costs.cost("gpt-5.5", small) == pytest.approx((1_000 * 1.0 + 1_000 * 2.0) / 1e6)


def test_cached_tokens_are_recorded_per_item_and_totalled(tmp_path):
    api = StrictAnthropic(input_tokens=300, cache_read=4_000, cache_write=0)
    pricer, _ = anthropic(api, "claude-sonnet-4-6")
    Tester(pricer, ITEMS[:3], out=tmp_path / "run").run()
    run = read_run(tmp_path / "run")
    assert [r.cache_read_tokens for r in run.records] == [4_000] * 3
    assert all(r.input_tokens == 4_300 for r in run.records)
    assert run.header.totals["cache_read_tokens"] == 12_000
    lines = (tmp_path / "run" / "items.jsonl").read_text().splitlines()
    assert all(json.loads(line)["cache_read_tokens"] == 4_000 for line in lines)
    assert "4,000 cached" in run.usage_text() or "12,000 cached" in run.usage_text()


def test_the_budget_counts_the_same_figure_as_the_run(tmp_path):
    api = StrictOpenAI(prompt_tokens=1_000, cached_tokens=512)
    pricer, seen = openai(api, "gpt-5.5", budget=100.0)
    results = Tester(pricer, ITEMS[:4]).run()
    expected = sum(reference(body, "openai", "chat") for body in seen.bodies)
    assert pricer.spent_ == pytest.approx(expected, rel=1e-9)
    assert results.cost == pytest.approx(expected, rel=1e-9)
