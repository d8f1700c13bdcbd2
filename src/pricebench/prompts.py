"""Prompts as data: the messages a chat model reads to price one item.

A `PromptTemplate` holds a system message, a user message template and an optional assistant
prefill. The user template may use `{text}`, `{title}`, `{category}` and `{context}` (the few-shot
or retrieval context, empty when there is none). `COURSE_PROMPT` is the course's prompt.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from pricebench.errors import PricerError
from pricebench.items import Item

Message = dict[str, str]
FIELDS = frozenset({"text", "title", "category", "context"})


@dataclass(frozen=True)
class PromptTemplate:
    """System message, user message template and optional assistant prefill ("Price is $")."""

    system: str
    user: str
    prefill: str | None = None

    def __post_init__(self) -> None:
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

    def completion(self, item: Item) -> str:
        """The assistant reply a fine-tune learns for `item`: "Price is $45.99"."""
        return f"{self.prefill or ''}{item.price:.2f}"


COURSE_PROMPT = PromptTemplate(
    system="You estimate prices of items. Reply only with the price, no explanation",
    user="{context}How much does this cost?\n\n{text}",
    prefill="Price is $",
)
