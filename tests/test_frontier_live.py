"""Real API calls, a few cents at most. Run with `pytest -m live` when the keys are set."""

from __future__ import annotations

import os

import pytest

from pricebench import Tester, load_dataset
from tests.conftest import COURSE_ITEMS

pytestmark = pytest.mark.live


def _items():
    if not COURSE_ITEMS.exists():
        pytest.skip("shared data not present")
    return load_dataset(COURSE_ITEMS).test[:3]


@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set")
def test_openai_gpt_4o_mini_prices_real_items(tmp_path):
    from pricebench.chat.openai import OpenAIPricer

    pricer = OpenAIPricer("gpt-4o-mini", cache=tmp_path / "cache.sqlite", budget=0.05)
    results = Tester(pricer, _items(), workers=3).run()
    assert results.n_priced == 3, [r.failure for r in results.records]
    assert all(r.guess > 0 and r.input_tokens > 0 and r.cost > 0 for r in results.records)


@pytest.mark.skipif(not os.environ.get("ANTHROPIC_API_KEY"), reason="ANTHROPIC_API_KEY is not set")
def test_anthropic_haiku_prices_real_items(tmp_path):
    from pricebench.chat.anthropic import AnthropicPricer

    pricer = AnthropicPricer("claude-haiku-4-5", cache=tmp_path / "cache.sqlite", budget=0.05)
    results = Tester(pricer, _items(), workers=3).run()
    assert results.n_priced == 3, [r.failure for r in results.records]
    assert all(r.guess > 0 and r.output_tokens > 0 and r.cost > 0 for r in results.records)
