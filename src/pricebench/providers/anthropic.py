"""`AnthropicPricer`: Anthropic's Messages API (spec `anthropic:MODEL`).

The prompt's prefill is a real assistant prefill here: Claude continues "Price is $" and the
reply is just the number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic

from pricebench.cache import ResponseCache
from pricebench.errors import PricerError, StopRun
from pricebench.items import Item
from pricebench.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.providers.base import PRICE_SCHEMA, ChatPricer, Context


class AnthropicPricer(ChatPricer):
    """Asks a Claude model for a price."""

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate | dict[str, Any] | str | Path = COURSE_PROMPT,
        client: Any = None,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        max_tokens: int | None = None,
        temperature: float | None = None,
        reasoning_effort: str | None = None,
        structured: bool = False,
        context: Context | str | None = None,
        cache: ResponseCache | str | Path | bool | None = True,
        budget: float | None = None,
        max_retries: int = 5,
        timeout: float = 60.0,
        name: str | None = None,
    ) -> None:
        super().__init__(
            model,
            prompt=prompt,
            client=client,
            api_key_env=api_key_env,
            max_tokens=max_tokens,
            temperature=temperature,
            reasoning_effort=reasoning_effort,
            structured=structured,
            context=context,
            cache=cache,
            budget=budget,
            max_retries=max_retries,
            timeout=timeout,
            name=name,
        )

    def _make_client(self, api_key: str | None) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=api_key)

    def request(self, item: Item) -> dict[str, Any]:
        messages = self.prompt.messages(item, self.context_for(item), prefill=not self.structured)
        # The Messages API takes the system prompt apart from the conversation.
        system = [m["content"] for m in messages if m["role"] == "system"]
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system:
            body["system"] = "\n\n".join(system)
        if self.temperature is not None:
            body["temperature"] = self.temperature
        output_config: dict[str, Any] = {}
        if self.reasoning_effort is not None:
            output_config["effort"] = self.reasoning_effort
        if self.structured:
            output_config["format"] = {"type": "json_schema", "schema": PRICE_SCHEMA}
        if output_config:
            body["output_config"] = output_config
        return body

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.messages.create(**request)
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as error:
            raise StopRun(f"{self.name}: {type(error).__name__}: {error.message}") from None
        except anthropic.NotFoundError as error:
            raise StopRun(f"{self.name}: model not found: {error.message}") from None
        return response.model_dump(mode="json")

    def read(self, response: dict[str, Any]) -> tuple[str, int, int]:
        blocks = response.get("content")
        if blocks is None:
            raise PricerError(f"{self.name}: response has no content: {response!r:.200}")
        text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
        usage = response.get("usage") or {}
        return text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
