"""The chat-format training file: one example per item, checked as OpenAI will check it before
anything is uploaded, with its size in (estimated) tokens."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pricebench.chat.prompts import PromptTemplate
from pricebench.errors import DataError
from pricebench.finetune.base_models import (
    DEFAULT_BASE_MODEL,
    example_token_limit,
    training_cost,
)
from pricebench.items import Item

# OpenAI's documented limits for supervised fine-tuning of chat models.
MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
ROLES = frozenset({"system", "user", "assistant"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})


class TrainingFileError(DataError):
    """A training or validation file that OpenAI would reject: names the line and the field."""


def training_example(item: Item, prompt: PromptTemplate) -> dict[str, Any]:
    """One line of the chat-format file: the prompt's messages and the price as the answer.

    The prefill is not sent as its own message: the assistant's answer starts with it
    ("Price is $45.99"), so the model learns to continue exactly what it will be given.
    """
    # a prompt without a system message (the course's training prompts) sends none
    messages = [m for m in prompt.messages(item, prefill=False) if m["content"]]
    messages.append({"role": "assistant", "content": prompt.completion(item)})
    return {"messages": messages}


def to_jsonl(examples: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode("utf-8")


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, estimated as OpenAI's rule of thumb (4 characters a token).

    An estimate on purpose: an exact count needs the tokenizer's vocabulary file, which is
    downloaded on first use and so unavailable offline.
    """
    return math.ceil(len(text) / 4)


def example_tokens(example: dict[str, Any]) -> int:
    # Each message costs a few tokens of framing on top of its content, as in OpenAI's cookbook.
    return 3 + sum(4 + estimate_tokens(m["content"]) for m in example["messages"])


@dataclass(frozen=True)
class TrainingFileReport:
    """What a training file holds, and what training on it should cost."""

    n_examples: int
    n_bytes: int
    tokens: int  # estimated, all examples once
    max_example_tokens: int

    def cost(self, base_model: str, epochs: int) -> float | None:
        """Estimated training cost in US dollars; None when the base model's price is unknown."""
        return training_cost(base_model, self.tokens * epochs)


def validate_examples(
    examples: Sequence[Any],
    *,
    base_model: str = DEFAULT_BASE_MODEL,
    source: str = "training file",
    min_examples: int = MIN_EXAMPLES,
) -> TrainingFileReport:
    """Check chat-format examples as OpenAI will, and raise `TrainingFileError` on the first fault.

    Checked: each line is an object with a `messages` list; roles are system / user / assistant;
    contents are non-empty strings; every example ends with an assistant message; no example is
    longer than the base model allows; at least `min_examples` examples; file under 512 MB.
    """
    limit = example_token_limit(base_model)
    if len(examples) < min_examples:
        raise TrainingFileError(
            f"{source}: {len(examples)} examples; OpenAI needs at least {min_examples}"
        )
    tokens, longest = 0, 0
    for line, example in enumerate(examples, start=1):
        where = f"{source}, line {line}"
        messages = example.get("messages") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainingFileError(f"{where}: needs a non-empty 'messages' list")
        for number, message in enumerate(messages):
            _check_message(message, f"{where}: messages[{number}]")
        if messages[-1]["role"] != "assistant":
            raise TrainingFileError(f"{where}: the last message must be the assistant's answer")
        count = example_tokens(example)
        if count > limit:
            raise TrainingFileError(
                f"{where}: about {count:,} tokens; {base_model} trains on at most {limit:,}"
            )
        tokens += count
        longest = max(longest, count)
    size = len(to_jsonl(examples))
    if size > MAX_FILE_BYTES:
        raise TrainingFileError(f"{source}: {size:,} bytes; OpenAI accepts at most 512 MB")
    return TrainingFileReport(len(examples), size, tokens, longest)


def _check_message(message: Any, field: str) -> None:
    if not isinstance(message, dict):
        raise TrainingFileError(f"{field} is not an object")
    unknown = set(message) - MESSAGE_KEYS
    if unknown:
        raise TrainingFileError(f"{field} has unknown key(s) {sorted(unknown)}")
    if message.get("role") not in ROLES:
        raise TrainingFileError(
            f"{field}.role is {message.get('role')!r}, not one of {sorted(ROLES)}"
        )
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise TrainingFileError(f"{field}.content is empty")
