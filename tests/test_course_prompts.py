"""The course's prompts by name, against the course's own prompt code (re-expressed), and
`finetune openai|lora --prompt NAME`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pricebench import Item
from pricebench.chat.prompts import (
    COURSE_PROMPT,
    NAMED_PROMPTS,
    load_prompt,
    prompt_fields,
)
from pricebench.errors import PricerError
from tests.finetune_api import FineTuningAPI

COURSE_ITEMS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "course-items.jsonl"
PRICES = (0.5, 1.5, 2.5, 45.49, 45.5, 46.5, 999.49)  # round() halves to even, as the course's


def course_2024_prompt(text: str, price: float) -> tuple[str, str]:
    """week6 items.py (2024) `make_prompt` and `test_prompt`."""
    prompt = f"How much does this cost to the nearest dollar?\n\n{text}\n\n"
    prompt += f"Price is ${str(round(price))}.00"
    return prompt, prompt.split("Price is $")[0] + "Price is $"


def course_2025_prompt(text: str, price: float) -> tuple[str, str]:
    """week6 pricer/items.py (2025) `make_prompt` and `test_prompt`."""
    prompt = f"What does this cost to the nearest dollar?\n\n{text}\n\nPrice is ${round(price)}.00"
    return prompt, prompt.split("Price is $")[0] + "Price is $"


def course_2024_frontier_messages(text: str, price: float) -> list[dict[str, str]]:
    """week6 day5 (2024) `messages_for`: the frontier models' and the OpenAI fine-tune's."""
    user_prompt = (
        course_2024_prompt(text, price)[1]
        .replace(" to the nearest dollar", "")
        .replace("\n\nPrice is $", "")
    )
    return [
        {
            "role": "system",
            "content": "You estimate prices of items. Reply only with the price, no explanation",
        },  # fmt: skip
        {"role": "user", "content": user_prompt},
        {"role": "assistant", "content": "Price is $"},
    ]


@pytest.mark.parametrize("price", PRICES)
@pytest.mark.parametrize(
    ("name", "course"),
    [("course-2024-training", course_2024_prompt), ("course-2025", course_2025_prompt)],
)
def test_the_training_prompts_are_the_courses(name: str, course: Any, price: float) -> None:
    item = Item(id="a", title="Kettle", text="Kettle\nSteel, 1.7 l. It 's fast", price=price)
    template = load_prompt(name)
    assert template.system == ""  # no system message: a base model reads the user text first
    train, test = course(item.text, price)
    assert f"{template.user_message(item)}\n\n{template.completion(item)}" == train
    assert f"{template.user_message(item)}\n\n{template.prefill}" == test


@pytest.mark.parametrize("price", PRICES)
def test_the_2024_frontier_prompt_is_the_courses(price: float) -> None:
    item = Item(id="a", title="Kettle", text="Kettle\nSteel", price=price)
    template = load_prompt("course-2024-frontier")
    assert template.messages(item) == course_2024_frontier_messages(item.text, price)
    assert template.messages(item) == COURSE_PROMPT.messages(item)  # the chat pricers' default
    assert template.completion(item) == f"Price is ${price:.2f}"  # the course's OpenAI fine-tune


def test_an_unknown_prompt_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PricerError, match="unknown prompt 'course-1999'.*course-2025"):
        load_prompt("course-1999")
    path = tmp_path / "p.json"
    path.write_text('{"system": "s", "user": "{text}?", "prefill": "$"}')
    assert load_prompt(str(path)).user == "{text}?"
    # a prompt read back from its fields (a saved pricer's settings) keeps its rounding
    rounded = load_prompt(vars(NAMED_PROMPTS["course-2025"]))
    assert rounded == NAMED_PROMPTS["course-2025"] and rounded.whole_dollars
    path.write_text('{"system": "", "user": "{text}", "prefill": "$", "whole_dollars": true}')
    item = Item(id="a", title="Kettle", text="Kettle", price=45.5)
    assert load_prompt(path).completion(item) == "$46.00"  # round() halves to even, as the course
    with pytest.raises(PricerError, match="whole_dollars must be true or false"):
        load_prompt({"system": "", "user": "{text}", "whole_dollars": "false"})
    # off, the field is left out of reprs and settings (tuning trial ids, run headers)
    assert "whole_dollars" not in repr(COURSE_PROMPT) and "whole_dollars=True" in repr(rounded)
    assert prompt_fields(COURSE_PROMPT) == {"system": COURSE_PROMPT.system,
                                            "user": COURSE_PROMPT.user, "prefill": "Price is $"}  # fmt: skip


def test_an_openai_fine_tune_takes_a_prompt_by_name() -> None:
    from pricebench.finetune.pricer import OpenAIFineTuned

    assert OpenAIFineTuned(prompt="course-2025")._prompt() is NAMED_PROMPTS["course-2025"]
    assert set(NAMED_PROMPTS) == {"course-2024-training", "course-2024-frontier", "course-2025"}


def test_finetune_openai_trains_on_a_named_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pricebench import load_dataset
    from pricebench.cli import main

    api = FineTuningAPI()
    client = api.client()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("openai.OpenAI", lambda **options: client)
    assert main(["finetune", "openai", "--train-size", "12", "--val-size", "0", "--prompt",
                 "course-2025", "--data", str(COURSE_ITEMS), "--state-dir", str(tmp_path),
                 "--poll-interval", "0"]) == 0  # fmt: skip
    lines = api.uploaded_lines(api.job_requests[0]["training_file"])
    train = load_dataset(COURSE_ITEMS).train[:12]
    for line, item in zip(lines, train, strict=True):
        user, answer = line["messages"]  # no (empty) system message
        prompt, _ = course_2025_prompt(item.text, item.price)
        assert f"{user['content']}\n\n{answer['content']}" == prompt
        assert answer == {"role": "assistant", "content": f"Price is ${round(item.price)}.00"}


def test_finetune_lora_passes_a_named_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    import pricebench.hf
    from pricebench.cli import main

    seen: dict[str, Any] = {}

    class Recorder:
        def __init__(self, *args: Any, **options: Any) -> None:
            seen.update(options)
            raise SystemExit(0)

    monkeypatch.setattr(pricebench.hf, "LoRAFineTuned", Recorder)
    with pytest.raises(SystemExit):
        main(["finetune", "lora", "--data", str(COURSE_ITEMS), "--base-model", "m", "--output",
              "out", "--prompt", "course-2024-training"])  # fmt: skip
    assert load_prompt(seen["prompt"]) is NAMED_PROMPTS["course-2024-training"]
