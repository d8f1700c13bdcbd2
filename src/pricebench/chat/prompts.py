"""Prompts as data: the messages a chat model reads to price one item.

A `PromptTemplate` holds a system message, a user message template and an optional assistant
prefill. The user template may use `{text}`, `{title}`, `{category}` and `{context}` (the few-shot
or retrieval context, empty when there is none). `COURSE_PROMPT` is the course's prompt, and the
course's other prompts have names (`NAMED_PROMPTS`), which `load_prompt` reads like a file.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pricebench.errors import PricerError
from pricebench.items import Item

Message = dict[str, str]
FIELDS = frozenset({"text", "title", "category", "context"})


@dataclass(frozen=True)
class PromptTemplate:
    """System message, user message template and optional assistant prefill ("Price is $").

    `whole_dollars`: a fine-tune learns the price rounded to the dollar ("Price is $46.00"), as
    the course's training data for open models wrote it, rather than to the cent.
    """

    system: str
    user: str
    prefill: str | None = None
    whole_dollars: bool = False

    def __repr__(self) -> str:
        # Left out when off, so prompts keep the ids and settings they had before the field.
        return f"PromptTemplate({', '.join(f'{k}={v!r}' for k, v in prompt_fields(self).items())})"

    def __post_init__(self) -> None:
        if not isinstance(self.whole_dollars, bool):
            raise PricerError(
                f"prompt whole_dollars must be true or false, not {self.whole_dollars!r}"
            )
        # A typo in a field name should fail when the prompt is made, not on the first item.
        names = {field for _, field, _, _ in string.Formatter().parse(self.user) if field}
        unknown = names - FIELDS
        if unknown:
            raise PricerError(
                f"prompt user template uses unknown field(s) {sorted(unknown)}; "
                f"known: {sorted(FIELDS)}"
            )
        if "text" not in names and "title" not in names:
            raise PricerError("prompt user template must use {text} or {title}")

    def user_message(self, item: Item, context: str = "") -> str:
        return self.user.format(
            text=item.text, title=item.title, category=item.category or "", context=context
        )

    def messages(self, item: Item, context: str = "", *, prefill: bool = True) -> list[Message]:
        """Chat messages for `item`: system, user and (when set and wanted) the prefill."""
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user_message(item, context)},
        ]
        if prefill and self.prefill:
            messages.append({"role": "assistant", "content": self.prefill})
        return messages

    def price_text(self, price: float) -> str:
        """The price as a fine-tune learns to write it: "45.99", or "46.00" in whole dollars
        (Python's `round`, as the course's)."""
        return f"{round(price)}.00" if self.whole_dollars else f"{price:.2f}"

    def completion(self, item: Item) -> str:
        """The assistant reply a fine-tune learns for `item`: "Price is $45.99"."""
        return f"{self.prefill or ''}{self.price_text(item.price)}"


COURSE_PROMPT = PromptTemplate(
    system="You estimate prices of items. Reply only with the price, no explanation",
    user="{context}How much does this cost?\n\n{text}",
    prefill="Price is $",
)


def prompt_fields(prompt: PromptTemplate) -> dict[str, Any]:
    """The prompt as settings record it: its fields, `whole_dollars` only when it is on."""
    fields_ = {"system": prompt.system, "user": prompt.user, "prefill": prompt.prefill}
    return {**fields_, "whole_dollars": True} if prompt.whole_dollars else fields_


def load_prompt(value: PromptTemplate | dict[str, Any] | str | Path) -> PromptTemplate:
    """A prompt from a `PromptTemplate`, a dict of its fields, a name (`NAMED_PROMPTS`) or a JSON
    file holding one.

    So the command line can change it: `--param prompt=course-2025`, `--param
    prompt=my-prompt.json`, `pricebench finetune lora --prompt NAME|FILE`.
    """
    if isinstance(value, PromptTemplate):
        return value
    source = "prompt"
    if isinstance(value, str) and value in NAMED_PROMPTS:
        return NAMED_PROMPTS[value]
    if isinstance(value, str) and not Path(value).exists() and not value.endswith(".json"):
        raise PricerError(
            f"unknown prompt {value!r}: a name ({', '.join(NAMED_PROMPTS)}) or a JSON file"
        )
    if isinstance(value, (str, Path)):
        source = str(value)
        try:
            value = json.loads(Path(value).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise PricerError(f"prompt file {source}: {error}") from None
    if not isinstance(value, dict):
        raise PricerError(f"{source}: a prompt is an object with system, user and prefill")
    known = {f.name for f in fields(PromptTemplate)}
    unknown = set(value) - known
    missing = {"system", "user"} - set(value)
    if unknown or missing:
        raise PricerError(
            f"{source}: prompt fields {sorted(known)}; "
            f"unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    return PromptTemplate(**value)


# --- the course's prompts, by name -------------------------------------------------------------
# (new names only: COURSE_PROMPT above stays the default of the chat pricers)


# 2024 (week6 items.py): the open-model fine-tuning prompt, no system message, whole dollars
COURSE_2024_TRAINING_PROMPT = PromptTemplate(
    system="",
    user="How much does this cost to the nearest dollar?\n\n{text}",
    prefill="Price is $",
    whole_dollars=True,
)
# 2024 (week6 day5): the frontier models' and the OpenAI fine-tune's prompt (= COURSE_PROMPT)
COURSE_2024_FRONTIER_PROMPT = PromptTemplate(
    system="You estimate prices of items. Reply only with the price, no explanation",
    user="How much does this cost?\n\n{text}",
    prefill="Price is $",
)
# 2025 (week6 pricer/items.py `make_prompt`): no system message
COURSE_2025_PROMPT = PromptTemplate(
    system="",
    user="What does this cost to the nearest dollar?\n\n{text}",
    prefill="Price is $",
    whole_dollars=True,
)
NAMED_PROMPTS: dict[str, PromptTemplate] = {
    "course-2024-training": COURSE_2024_TRAINING_PROMPT,
    "course-2024-frontier": COURSE_2024_FRONTIER_PROMPT,
    "course-2025": COURSE_2025_PROMPT,
}
