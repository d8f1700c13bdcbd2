"""Prices from genai-prices with overrides on top; unknown prices are unknown, never $0."""

from __future__ import annotations

import json

import pytest

from pricebench.chat import costs
from pricebench.errors import PricerError
from tests.mock_api import MockAPI, openai_client


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.setattr(costs, "_overrides", {})
    monkeypatch.setattr(costs, "_env_loaded", False)


def per_million(model: str, provider: str = "openai") -> tuple[float, float]:
    price = costs.price_of(model, provider)
    assert price is not None, model
    return price.input, price.output


def test_each_model_gets_its_own_price_not_a_name_prefix():
    # A name-prefix table gave gpt-5.5 the gpt-5 price and o3 or Claude 5 nothing at all.
    assert per_million("gpt-5.5") != per_million("gpt-5")
    assert per_million("gpt-5.5")[1] > per_million("gpt-5")[1]
    assert per_million("o3")[0] > 0
    assert per_million("claude-sonnet-5", "anthropic")[0] > 0
    # Opus 4.6 is priced as Opus 4.5 and later, not as the old Opus 4 ($15 / $75).
    assert per_million("claude-opus-4-6", "anthropic") != per_million("claude-opus-4", "anthropic")
    assert per_million("gpt-4o-mini-2024-07-18") == per_million("gpt-4o-mini")


def test_batch_is_half_price():
    full = costs.cost("claude-haiku-4-5", 1_000, 1_000, provider="anthropic")
    assert full is not None and full > 0
    half = costs.cost("claude-haiku-4-5", 1_000, 1_000, provider="anthropic", batch=True)
    assert half == pytest.approx(full / 2)


def test_fine_tunes_are_priced_as_their_base_models_fine_tune():
    ft_mini = per_million("ft:gpt-4o-mini-2024-07-18:org::abc")
    assert ft_mini[0] > per_million("gpt-4o-mini")[0]  # fine-tuned inference costs more
    ft_41 = per_million("ft:gpt-4.1-mini-2025-04-14:org:pricer:xyz")
    assert ft_41[0] > per_million("gpt-4.1-mini")[0]


def test_unknown_model_costs_unknown_not_zero():
    assert costs.price_of("my-local-model-xyz") is None
    assert costs.cost("my-local-model-xyz", 1_000, 1_000) is None
    # A server of one's own has no list price, whatever the model is called.
    assert costs.price_of("gpt-4o-mini", "openai-compatible", "http://localhost:11434/v1") is None


def test_a_budget_on_an_unknown_price_is_refused_before_any_call():
    from pricebench.chat.openai import OpenAIPricer

    api = MockAPI()

    def local_server_pricer():
        return OpenAIPricer(
            "llama3.2",
            base_url="http://localhost:8000/v1",
            compatible=True,
            client=openai_client(api, base_url="http://localhost:8000/v1"),
            cache=False,
            budget=1.0,
        )

    with pytest.raises(PricerError, match=r"no price known.*PRICEBENCH_PRICES"):
        local_server_pricer()
    assert api.count == 0
    costs.set_price("llama3.2", 0.1, 0.2)  # with a price given, the budget is kept
    assert local_server_pricer().budget == 1.0


def test_overrides_win_and_cover_snapshots(tmp_path):
    costs.set_price("my-model", 1.0, 2.0)
    assert costs.cost("my-model-v2", 1_000_000, 1_000_000) == pytest.approx(3.0)
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"gpt-4o-mini": [1.0, 1.0], "other": {"input": 5, "output": 6}}))
    costs.load_prices(table)
    assert costs.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(1.0)
    assert costs.cost("other", 0, 1_000_000) == pytest.approx(6.0)


def test_bad_price_file_in_the_environment_fails_before_any_item(monkeypatch, tmp_path):
    from pricebench.chat.openai import OpenAIPricer

    table = tmp_path / "prices.json"
    table.write_text("[1, 2]")
    monkeypatch.setenv("PRICEBENCH_PRICES", str(table))
    with pytest.raises(PricerError, match="prices.json"):
        OpenAIPricer("gpt-4o-mini", client=object(), cache=False)
    table.write_text(json.dumps({"gpt-4o-mini": [3.0, 4.0]}))
    OpenAIPricer("gpt-4o-mini", client=object(), cache=False)
    assert costs.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(3.0)


def test_a_server_of_ones_own_is_not_priced_as_openai_whatever_the_model_is_called():
    from pricebench.chat.openai import OpenAIPricer

    local = OpenAIPricer(
        "gpt-4o-mini",
        base_url="http://localhost:4000/v1",
        compatible=True,
        client=openai_client(MockAPI()),
        cache=False,
    )
    assert local.cost(1_000_000, 0) is None
    openai_itself = OpenAIPricer("gpt-4o-mini", client=openai_client(MockAPI()), cache=False)
    assert openai_itself.cost(1_000_000, 0) == pytest.approx(0.15)
