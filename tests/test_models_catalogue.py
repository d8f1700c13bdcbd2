"""The model catalogue, `pricebench models` and `pricebench doctor` against strict stand-ins."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pricebench.chat.doctor import run_checks
from pricebench.chat.models import catalogue, default_fine_tune_base, resolve
from pricebench.cli import main
from pricebench.errors import PricerError
from tests.strict_api import StrictAnthropic, StrictOpenAI, anthropic_client, openai_client


def test_every_row_names_its_source_and_date():
    for family in catalogue():
        assert family.source and family.checked <= date.today()
        assert family.default_effort is None or family.default_effort in family.efforts


@pytest.mark.parametrize(
    ("provider", "model", "label"),
    [
        ("openai", "gpt-5.5", "GPT-5.2 to GPT-5.x"),
        ("openai", "gpt-6", "GPT-6 family"),
        ("openai", "gpt-5.5-pro", "Pro models (Responses API only)"),
        ("openai", "o3-pro-2025-06-10", "Pro models (Responses API only)"),
        ("anthropic", "claude-mythos-preview", "Claude Mythos Preview"),
        ("openai", "gpt-5-mini-2025-08-07", "GPT-5, GPT-5 mini, GPT-5 nano"),
        ("openai", "o3", "o-series reasoning models"),
        ("openai", "gpt-4o-mini-2024-07-18", "GPT-4o, GPT-4o mini (the course's models)"),
        ("anthropic", "claude-opus-4-7", "Claude Opus 4.7 and later 4.x"),
        ("anthropic", "claude-sonnet-4-6", "Claude Opus 4.6, Sonnet 4.6"),
        ("anthropic", "claude-haiku-4-5-20251001", "Claude 4.5 family"),
    ],
)
def test_newest_rules_first(provider, model, label):
    assert resolve(model, provider).family.label == label


def test_fine_tunes_take_their_base_row_without_the_prefill():
    info = resolve("ft:gpt-4o-mini-2024-07-18:org:pricer:abc", "openai")
    assert info.fine_tuned and not info.prefill and info.family.temperature
    assert resolve("gpt-4o-mini-2024-07-18", "openai").prefill


def test_default_fine_tune_base_is_current_and_past_shutdowns_are_refused():
    base = default_fine_tune_base()
    resolve(base, "openai").check_available()
    with pytest.raises(PricerError, match="no fine-tunable OpenAI model"):
        default_fine_tune_base(today=date(2030, 1, 1))
    with pytest.raises(PricerError, match="2027-01-14"):
        resolve("gpt-4o-mini", "openai").check_available(today=date(2027, 2, 1))


def test_models_lists_the_catalogue(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "Claude Opus 4.6, Sonnet 4.6" in out and "o-series" in out


def test_models_shows_the_row_and_the_request_without_a_key(capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["models", "anthropic:claude-sonnet-4-6"]) == 0
    out = capsys.readouterr().out
    body = json.loads(out[out.index("{") :])
    assert body["messages"][-1]["role"] == "user"  # no prefill on Claude 4.6
    assert "temperature" not in body and body["output_config"] == {"effort": "low"}
    assert "migration-guide" in out


def test_doctor_agrees_with_a_faithful_api():
    for spec, client in [
        ("openai:gpt-5-mini", openai_client(StrictOpenAI())),
        ("openai:gpt-4o-mini", openai_client(StrictOpenAI())),
        ("anthropic:claude-sonnet-4-6", anthropic_client(StrictAnthropic())),
        ("anthropic:claude-haiku-4-5", anthropic_client(StrictAnthropic())),
    ]:
        checks = run_checks(spec, client=client)
        assert len(checks) >= 3
        assert all(check.agrees for check in checks), (spec, checks)


class LenientAnthropic(StrictAnthropic):
    """An API that, unlike the catalogue says, still accepts a prefill on Claude 4.6."""

    def __call__(self, request):
        body = json.loads(request.content)
        if body["messages"][-1]["role"] == "assistant":
            body["messages"] = body["messages"][:-1]
            request = type(request)(request.method, request.url, headers=request.headers, json=body)
        return super().__call__(request)


def test_doctor_reports_a_rule_the_api_does_not_follow():
    checks = run_checks("anthropic:claude-sonnet-4-6", client=anthropic_client(LenientAnthropic()))
    prefill = next(c for c in checks if c.rule == "assistant prefill")
    assert not prefill.agrees and prefill.observed == "accepted"


def test_doctor_says_when_the_api_cannot_be_reached(capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["doctor", f"openai-compatible:m@http://127.0.0.1:{port}/v1"]) == 3
    err = capsys.readouterr().out
    assert "cannot reach the API" in err and "disagree" not in err
