"""The catalogue's blind spots (issue 28, item 3): Responses-only models from the SDK's own
`ResponsesModel` type, no silent match of an unknown name to another model's prices, OpenAI's
`cache_write_tokens` and `service_tier` priced through genai-prices, a warning before the first
call to a model that shuts down within 30 days, and `provider/model` specs."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from genai_prices import Usage, calc_price

from pricebench import Item
from pricebench.chat import costs, deprecations, models
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.budget import Budget
from pricebench.chat.openai import OpenAIPricer
from pricebench.cli import main
from pricebench.errors import PricebenchWarning, PricerError
from pricebench.registry import make_pricer, parse_spec
from tests.conftest import COURSE_ITEMS
from tests.mock_api import MockAPI, openai_client, openai_reply, openai_response

ITEM = Item(id="k1", title="Kettle", text="A red kettle", price=40.0)
RESPONSES_ONLY = sorted(deprecations.responses_only_models())


def test_the_sdk_lists_responses_only_models_beyond_the_pro_ones():
    assert {"o3-deep-research", "gpt-5-codex", "gpt-5.1-codex-max", "gpt-6-cyber"} <= set(
        RESPONSES_ONLY
    )
    assert "gpt-6.2-astra-law" in RESPONSES_ONLY and "gpt-4o" not in RESPONSES_ONLY


@pytest.mark.parametrize("model", RESPONSES_ONLY)
def test_every_responses_only_model_of_the_sdk_goes_to_the_responses_api(model):
    info = models.resolve(model, "openai")
    assert info.responses_only
    api = MockAPI(default=openai_response("Price is $42.00", model=model))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PricebenchWarning)  # some shut down soon
            pricer = OpenAIPricer(model, client=openai_client(api), cache=False)
    except PricerError as error:  # shut down: refused before any call, naming the date
        assert "shut down" in str(error) and api.count == 0
        return
    assert pricer.api == "responses"
    assert pricer.estimate(ITEM).price == 42.0
    assert api.requests[0].url.path.endswith("/responses")
    with pytest.raises(PricerError, match="Responses API only"), warnings.catch_warnings():
        warnings.simplefilter("ignore", PricebenchWarning)
        OpenAIPricer(model, api="chat", client=openai_client(api), cache=False)


def test_an_unknown_name_is_never_priced_as_another_model():
    api = MockAPI(default=openai_reply("Price is $42.00", prompt_tokens=100))
    with pytest.warns(PricebenchWarning, match=r"gpt-5.1-mini.*another model \(gpt-5.1-codex-mini"):
        pricer = OpenAIPricer("gpt-5.1-mini", client=openai_client(api), cache=False)
    assert pricer.estimate(ITEM).cost is None  # unknown, never another model's figure
    assert costs.price_of("gpt-5.1-mini") is None
    with pytest.raises(PricerError, match="nearest entry is another model, gpt-5.1-codex-mini"):
        pricer.spend_from(Budget(max_cost=1.0))
    # Snapshots and variants named after a listed model keep its price.
    assert costs.price_of("gpt-4o-mini-2024-07-18") == costs.price_of("gpt-4o-mini")
    assert costs.price_of("claude-opus-4-5-20251101", "anthropic") is not None
    costs.set_price("gpt-5.1-mini", 1.0, 2.0)  # a price given by hand is taken
    try:
        assert costs.cost("gpt-5.1-mini", 1_000_000, 0) == pytest.approx(1.0)
    finally:
        costs._overrides.pop("gpt-5.1-mini")


def reply_with(details: dict, **extra) -> dict:
    body = openai_reply("Price is $42.00", prompt_tokens=10_000, completion_tokens=3)
    body["usage"]["prompt_tokens_details"] = details
    body.update(extra)
    return body


def test_openai_cache_write_tokens_are_read_and_priced_by_genai_prices():
    api = MockAPI(default=reply_with({"cached_tokens": 0, "cache_write_tokens": 9_000}))
    pricer = OpenAIPricer("gpt-6-sol", client=openai_client(api), cache=False)
    estimate = pricer.estimate(ITEM)
    assert estimate.cache_write_tokens == 9_000
    usage = Usage(input_tokens=10_000, cache_write_tokens=9_000, output_tokens=3)
    expected = calc_price(usage, model_ref="gpt-6-sol", provider_id="openai").total_price
    assert estimate.cost == pytest.approx(float(expected))
    plain = calc_price(
        Usage(input_tokens=10_000, output_tokens=3), model_ref="gpt-6-sol", provider_id="openai"
    )
    assert estimate.cost > float(plain.total_price)  # writes cost more than plain input


def test_openai_responses_cache_write_tokens_are_read():
    body = openai_response("Price is $42.00", input_tokens=10_000, model="gpt-6-cyber")
    body["usage"]["input_tokens_details"]["cache_write_tokens"] = 9_000
    pricer = OpenAIPricer("gpt-6-cyber", client=openai_client(MockAPI(default=body)), cache=False)
    assert pricer.estimate(ITEM).cache_write_tokens == 9_000


def test_the_service_tier_a_reply_names_is_priced():
    api = MockAPI(default=reply_with({"cached_tokens": 0}, service_tier="priority"))
    pricer = OpenAIPricer("gpt-5.4-mini", client=openai_client(api), cache=False)
    estimate = pricer.estimate(ITEM)
    usage = Usage(input_tokens=10_000, output_tokens=3)
    priority = calc_price(
        usage,
        model_ref="gpt-5.4-mini",
        provider_id="openai",
        price_context={"service_tier": "priority"},
    ).total_price
    assert estimate.cost == pytest.approx(float(priority))
    assert estimate.cost > float(
        calc_price(usage, model_ref="gpt-5.4-mini", provider_id="openai").total_price
    )
    default = MockAPI(default=reply_with({"cached_tokens": 0}, service_tier="default"))
    plain = OpenAIPricer("gpt-5.4-mini", client=openai_client(default), cache=False)
    assert plain.estimate(ITEM).cost == pytest.approx(
        float(calc_price(usage, model_ref="gpt-5.4-mini", provider_id="openai").total_price)
    )


def test_a_model_shutting_down_within_30_days_is_named_before_the_first_call(monkeypatch):
    monkeypatch.setattr(models, "current_date", lambda: date(2026, 12, 8))
    info = models.resolve("gpt-5-mini")
    assert info.shutdown == date(2026, 12, 11)
    api = MockAPI(default=openai_reply("Price is $42.00"))
    with pytest.warns(PricebenchWarning, match=r"gpt-5-mini: shuts down .* 2026-12-11, in 3 days"):
        OpenAIPricer("gpt-5-mini", client=openai_client(api), cache=False)
    assert api.count == 0
    assert info.shutdown_notice(date(2026, 11, 10)) is None  # 31 days ahead: not yet
    assert "in 30 days" in info.shutdown_notice(date(2026, 11, 11))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model with no announced date: no warning
        AnthropicPricer("claude-haiku-4-5", client=object(), cache=False)


@pytest.mark.skipif(not COURSE_ITEMS.exists(), reason="shared data not present")
def test_the_cli_prints_the_warning_on_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(models, "current_date", lambda: date(2026, 12, 8))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    argv = ["run", "openai/gpt-5-mini", "--data", str(COURSE_ITEMS), "--size", "3", "--dry-run"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: gpt-5-mini: shuts down at openai on 2026-12-11, in 3 days" in err


def test_provider_slash_model_specs_as_inspect_ai_and_litellm_write_them():
    assert parse_spec("openai/gpt-5.4-mini").name == "openai"
    assert parse_spec("openai/gpt-5.4-mini").arg == "gpt-5.4-mini"
    spec = parse_spec("anthropic/claude-haiku-4-5:temperature=0")
    assert (spec.name, spec.arg, spec.params) == (
        "anthropic",
        "claude-haiku-4-5",
        {"temperature": 0},
    )
    pricer = make_pricer("openai/gpt-4o-mini", client=openai_client(MockAPI()), cache=False)
    assert pricer.name == "openai:gpt-4o-mini"
