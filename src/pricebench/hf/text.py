"""The text a causal language model reads for one item, the same in training and in pricing.

A chat model (its tokenizer has a chat template) reads the prompt's messages through that
template; a base model reads the system message, the user message and the prefill as plain
text. Either way the text ends with the prefill ("Price is $"), so the model's next tokens are
the price. Training puts the prefill in the prompt and teaches only the price after it (the
course's loss "only on the tokens after 'Price is $'"), as the prompt writes it: to the nearest
dollar ("149.00", `whole_dollars`) as the course's training data did, or to the cent.

`COURSE_TRAINING_PROMPT` is the course's week-7 fine-tuning prompt: no system message, the
question "How much does this cost to the nearest dollar?", the item text, then "Price is $".
"""

from __future__ import annotations

from typing import Any

from pricebench.chat.prompts import COURSE_2024_TRAINING_PROMPT, PromptTemplate
from pricebench.errors import PricerError
from pricebench.items import Item

# The named `course-2024-training` prompt, `LoRAFineTuned`'s default.
COURSE_TRAINING_PROMPT = COURSE_2024_TRAINING_PROMPT


def uses_chat(tokenizer: Any, chat: bool | None) -> bool:
    """`chat` when given, else whether the tokenizer has a chat template."""
    if chat is not None:
        return chat
    return bool(getattr(tokenizer, "chat_template", None))


def context_text(item: Item, prompt: PromptTemplate, tokenizer: Any, chat: bool | None) -> str:
    """Everything before the prefill: what training treats as the prompt."""
    if not uses_chat(tokenizer, chat):
        system = f"{prompt.system}\n\n" if prompt.system else ""
        return f"{system}{prompt.user_message(item)}\n\n"
    # An empty system message is left out: the template then uses its own default, if any.
    messages = [m for m in prompt.messages(item, prefill=False) if m["content"]]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # The tokenizer adds its BOS token itself; the template's copy would make two.
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos) and _adds_bos(tokenizer):
        text = text[len(bos) :]
    return text


# Tokens kept free after the prompt for the price and the end-of-sequence token.
PRICE_TOKENS = 8


def prompt_text(
    item: Item,
    prompt: PromptTemplate,
    tokenizer: Any,
    chat: bool | None,
    max_length: int | None = None,
) -> str:
    """The text the model continues with the price: context, then the prefill."""
    item = fit_item(item, prompt, tokenizer, chat, max_length)
    return context_text(item, prompt, tokenizer, chat) + (prompt.prefill or "")


def training_pair(
    item: Item,
    prompt: PromptTemplate,
    tokenizer: Any,
    chat: bool | None,
    max_length: int | None = None,
) -> dict[str, str]:
    """A prompt-completion example for trl: the loss falls on the completion only.

    The prompt is exactly what pricing reads (context and prefill), the completion the price.
    """
    return {
        "prompt": prompt_text(item, prompt, tokenizer, chat, max_length),
        "completion": prompt.price_text(item.price),
    }


def fit_item(
    item: Item,
    prompt: PromptTemplate,
    tokenizer: Any,
    chat: bool | None,
    max_length: int | None,
) -> Item:
    """`item` with its text cut so the prompt leaves `PRICE_TOKENS` of `max_length` free.

    The trainer truncates long examples from the end, which would cut off the price it should
    learn; cutting the item's text instead, the same way in training and in pricing, keeps the
    price and shows the model the same prompt both times (the course cut texts at curation).
    """
    if not max_length:
        return item
    budget = max_length - PRICE_TOKENS
    for _ in range(4):  # re-encoding the cut text can shift a token or two
        text = context_text(item, prompt, tokenizer, chat) + (prompt.prefill or "")
        overflow = len(tokenizer(text)["input_ids"]) - budget
        if overflow <= 0:
            return item
        ids = tokenizer(item.text, add_special_tokens=False)["input_ids"]
        if overflow >= len(ids):
            raise PricerError(
                f"max_length {max_length} leaves no room for item {item.id}'s text after the "
                "prompt; raise max_length"
            )
        item = item.model_copy(update={"text": tokenizer.decode(ids[: len(ids) - overflow])})
    return item


def _adds_bos(tokenizer: Any) -> bool:
    bos_id = getattr(tokenizer, "bos_token_id", None)
    return bos_id is not None and bos_id in tokenizer("x")["input_ids"]
