"""Thinking models: Claude 5 is sent thinking disabled where it accepts that, the models that
always think get room for it at the lowest effort, and replies cut off by the output limit stop a
run after a few items in a row instead of failing (and paying for) every item.

The stand-in (`tests/strict_api.py`) spends thinking tokens out of `max_tokens` ahead of the text,
as Anthropic's thinking docs and the Claude 5 migration notes describe.
"""

from __future__ import annotations

import pytest

from pricebench import Tester
from pricebench.cli import main
from tests.strict_api import StrictAnthropic, StrictOpenAI
from tests.test_frontier_strict import ITEMS, anthropic_pricer, openai_pricer


@pytest.mark.parametrize("model", ["claude-sonnet-5", "claude-haiku-5-5", "claude-opus-5"])
def test_claude_5_is_sent_thinking_disabled_and_prices_in_a_small_budget(model):
    api = StrictAnthropic()
    results = Tester(anthropic_pricer(api, model), ITEMS[:3]).run()
    assert results.n_failed == 0, [r.failure for r in results.records]
    assert all(body["thinking"] == {"type": "disabled"} for body in api.bodies)
    assert all(r.output_tokens < 64 for r in results.records)  # no thinking paid for


@pytest.mark.parametrize("model", ["claude-fable-5", "claude-mythos-5"])
def test_models_that_always_think_get_room_at_the_lowest_effort(model):
    api = StrictAnthropic()
    results = Tester(anthropic_pricer(api, model), ITEMS[:3]).run()
    assert results.n_failed == 0, [r.failure for r in results.records]
    body = api.bodies[0]
    assert "thinking" not in body  # "disabled" is a 400 on these
    assert body["output_config"]["effort"] == "low"


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("claude-fable-5", {"max_tokens": 64}),  # thinking at low effort needs more than 64
        ("claude-sonnet-4-6", {"max_tokens": 3}),  # no thinking: the text itself is cut
    ],
)
def test_replies_cut_off_stop_the_run_after_three_in_a_row(model, options):
    api = StrictAnthropic()
    results = Tester(anthropic_pricer(api, model, **options), ITEMS[:10]).run()
    assert results.header.status == "stopped"
    note = results.header.note or ""
    assert "max_tokens" in note and "3 items in a row" in note
    assert api.count == 3 and len(results.records) == 3  # stopped before a fourth paid call
    assert all(r.cost and r.cost > 0 for r in results.records)  # the three are paid and counted


def test_a_cut_off_openai_reasoning_reply_counts_toward_the_stop_too():
    api = StrictOpenAI()
    pricer = openai_pricer(api, "gpt-5-mini", None, max_tokens=16, reasoning_effort="low")
    results = Tester(pricer, ITEMS[:10]).run()
    assert results.header.status == "stopped" and api.count == 3
    note = results.header.note or ""
    assert "max_tokens=N" in note and "lower reasoning_effort" in note


class Wordy(StrictAnthropic):
    """Answers from a script: a long answer is cut off by a small max_tokens, a short one is not."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = script

    def __call__(self, request):
        self.answer = self.script[self.count % len(self.script)]
        return super().__call__(request)


def test_a_priced_reply_in_between_resets_the_count():
    long = "about forty two dollars, that is $42.00 give or take a little"
    api = Wordy([long, long, "$42.00", long, long, "$42.00"])
    results = Tester(anthropic_pricer(api, "claude-sonnet-4-6", max_tokens=8), ITEMS[:6]).run()
    assert results.header.status == "complete" and api.count == 6
    assert results.n_failed == 4


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("anthropic:claude-sonnet-5", 'disabled: sends thinking {"type": "disabled"}'),
        ("anthropic:claude-fable-5", "always on (cannot be disabled): effort 'low'"),
        ("anthropic:claude-sonnet-4-6", "off (the model does not think unless asked)"),
        ("openai:gpt-5.5", "none: sends reasoning effort 'none'"),
        ("openai:o3", "reasoning at the lowest effort, 'low'"),
    ],
)
def test_pricebench_models_says_what_is_done_about_thinking(spec, shown, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["models", spec]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("thinking:"))
    assert shown in line
