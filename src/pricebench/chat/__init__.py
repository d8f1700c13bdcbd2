"""What asks a hosted chat model (OpenAI, Anthropic, any OpenAI-compatible server) for a price.

Follow one request from top to bottom:

- `models` (with `models.json`): the catalogue that says what each model accepts.
- `prompts`: the course's prompt as a `PromptTemplate`; `context`: similar items for RAG.
- `config`: `ChatConfig`, what a pricer asks and how it runs.
- `base`: `ChatPricer`, one interface; `openai` and `anthropic`: one file per provider (each
  imports its SDK, so import them only when needed).
- `parse`: `parse_price`, the reply read as a price.
- `cache`: the on-disk response cache; `costs`: prices from genai-prices; `budget`: the cap.
- `doctor`: the catalogue checked against the real APIs.

Batch mode (`pricebench.batch`) is a sibling package that sends the same requests as batch jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pricebench.chat.base import ChatPricer as ChatPricer

__all__ = ["ChatPricer"]


def __getattr__(name: str) -> object:
    # Lazy: `pricebench.pricer` reads `pricebench.chat.parse`, and `base` imports the pricer module.
    if name == "ChatPricer":
        from pricebench.chat.base import ChatPricer

        return ChatPricer
    raise AttributeError(f"module 'pricebench.chat' has no attribute {name!r}")
