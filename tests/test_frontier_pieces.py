"""The frontier layer's small parts: prompts, cache keys and storage, the price table."""

from __future__ import annotations

import json
import threading

import pytest

from pricebench import Item
from pricebench.chat import costs
from pricebench.chat.cache import ResponseCache, cache_key, default_cache_path
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.errors import PricerError

ITEM = Item(id="x", title="Desk lamp", text="Title: Desk lamp\nLED", price=24.5, category="Home")


def test_course_prompt_messages_and_completion():
    messages = COURSE_PROMPT.messages(ITEM)
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[1]["content"] == "How much does this cost?\n\nTitle: Desk lamp\nLED"
    assert messages[2]["content"] == "Price is $"
    assert COURSE_PROMPT.messages(ITEM, prefill=False)[-1]["role"] == "user"
    assert COURSE_PROMPT.completion(ITEM) == "Price is $24.50"


def test_template_fields_and_braces_in_item_text():
    prompt = PromptTemplate(system="s", user="{category}: {title}\n{context}{text}")
    item = ITEM.model_copy(update={"text": "a {weird} text"})
    assert prompt.user_message(item, "ctx\n") == "Home: Desk lamp\nctx\na {weird} text"


def test_unknown_template_field_fails_when_the_prompt_is_made():
    with pytest.raises(PricerError, match="brand"):
        PromptTemplate(system="s", user="{brand} {text}")
    with pytest.raises(PricerError, match="text"):
        PromptTemplate(system="s", user="no item at all")


def test_cache_key_covers_provider_model_and_every_parameter():
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 42}
    key = cache_key("openai", "m", request)
    assert key == cache_key("openai", "m", dict(reversed(list(request.items()))))
    assert key != cache_key("anthropic", "m", request)
    assert key != cache_key("openai", "m2", request)
    assert key != cache_key("openai", "m", {**request, "seed": 1})
    assert len(key) == 64


def test_cache_round_trip_survives_reopening_and_threads(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    cache = ResponseCache(path)
    assert cache.get("k") is None

    def fill(start: int) -> None:
        for n in range(start, start + 25):
            cache.put(f"k{n}", {"n": n, "text": "é"})

    threads = [threading.Thread(target=fill, args=(s,)) for s in (0, 25, 50, 75)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.close()
    again = ResponseCache(path)
    assert len(again) == 100
    assert again.get("k77") == {"n": 77, "text": "é"}


def test_cache_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PRICEBENCH_CACHE", str(tmp_path / "c.sqlite"))
    assert default_cache_path() == tmp_path / "c.sqlite"


def test_unusable_cache_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PricerError, match="response cache"):
        ResponseCache(blocker / "cache.sqlite")


def test_bad_price_table_names_the_file_and_model(tmp_path):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"gpt-x": "cheap"}))
    with pytest.raises(PricerError, match=r"prices\.json.*gpt-x"):
        costs.load_prices(table)
    table.write_text("{not json")
    with pytest.raises(PricerError, match="prices.json"):
        costs.load_prices(table)


def test_prompt_from_a_dict_or_a_json_file(tmp_path):
    from pricebench.chat.prompts import load_prompt

    fields = {"system": "Be terse.", "user": "Price of: {title}", "prefill": None}
    assert load_prompt(fields) == PromptTemplate(**fields)
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(fields))
    assert load_prompt(str(path)).user == "Price of: {title}"
    path.write_text(json.dumps({"system": "x", "usr": "{text}"}))
    with pytest.raises(PricerError, match=r"prompt\.json.*unknown \['usr'\].*missing \['user'\]"):
        load_prompt(path)
    with pytest.raises(PricerError, match="nowhere.json"):
        load_prompt(tmp_path / "nowhere.json")


def test_import_pricebench_loads_no_sdk_and_lazy_names_resolve():
    import subprocess
    import sys

    code = (
        "import sys, pricebench\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules\n"
        "assert pricebench.OpenAIPricer.provider == 'openai'\n"
        "assert pricebench.AnthropicPricer.provider == 'anthropic'\n"
        "assert pricebench.COURSE_PROMPT.prefill == 'Price is $'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
