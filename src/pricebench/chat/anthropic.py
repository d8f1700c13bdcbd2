"""`AnthropicPricer`: Anthropic's Messages API (spec `anthropic:MODEL`).

The course's "Price is $" prefill is a real assistant prefill here, but only on models that still
accept one: Claude 4.6 and later answer a prefill with a 400, so they get the prompt without it
and the reply is parsed for the price. Opus 4.7 and Claude 5 also reject `temperature`. Claude 5
thinks by default, out of `max_tokens`: it is sent `thinking: {"type": "disabled"}` where the
model accepts that, and the models that always think get an output budget with room for it. The
model catalogue (`pricebench.chat.models`) holds these rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pricebench.chat.base import PRICE_SCHEMA, ChatPricer, Reply, split_query
from pricebench.errors import PricerError, missing_extra
from pricebench.items import Item

if TYPE_CHECKING:
    import anthropic


class AnthropicPricer(ChatPricer):
    """Asks a Claude model for a price. Options: see `ChatPricer` (Claude takes no seed)."""

    provider = "anthropic"
    default_api_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"

    def _require_sdk(self) -> None:
        _sdk()

    def _make_client(self, api_key: str | None) -> anthropic.Anthropic:
        base_url, query = split_query(self.base_url)
        return _sdk().Anthropic(api_key=api_key, base_url=base_url, default_query=query or None)

    def _create(self) -> Callable[..., Any]:
        # The raw response: its headers say how much of the account's rate limits is left.
        return self.client.messages.with_raw_response.create

    def request(self, item: Item) -> dict[str, Any]:
        messages = self.messages(item)
        # The Messages API takes the system prompt apart from the conversation.
        system = [m["content"] for m in messages if m["role"] == "system"]
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system:
            body["system"] = "\n\n".join(system)
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        if self.info.family.thinking == "disable":
            # Claude 5 thinks by default, out of max_tokens: a one-line price needs none.
            body["thinking"] = {"type": "disabled"}
        output_config: dict[str, Any] = {}
        if self.reasoning_effort is not None:
            output_config["effort"] = self.reasoning_effort
        if self.config.structured:
            output_config["format"] = {"type": "json_schema", "schema": PRICE_SCHEMA}
        if output_config:
            body["output_config"] = output_config
        return body

    def read(self, response: dict[str, Any]) -> Reply:
        blocks = response.get("content")
        if blocks is None:
            raise PricerError(f"{self.name}: response has no content: {response!r:.200}")
        usage = response.get("usage") or {}
        # Anthropic's input_tokens leaves out the prompt tokens read from or written to its cache;
        # they are billed (reads at a tenth, writes at 1.25x), so they are added back here.
        read = int(usage.get("cache_read_input_tokens") or 0)
        written = int(usage.get("cache_creation_input_tokens") or 0)
        details = usage.get("output_tokens_details") or {}
        return Reply(
            text="".join(b.get("text") or "" for b in blocks if b.get("type") == "text"),
            input_tokens=int(usage.get("input_tokens") or 0) + read + written,
            output_tokens=int(usage.get("output_tokens") or 0),  # thinking included
            cut_off=response.get("stop_reason") == "max_tokens",
            reasoning_tokens=int(details.get("thinking_tokens") or 0),
            cache_read_tokens=read,
            cache_write_tokens=written,
            service_tier=usage.get("service_tier"),
        )


def _sdk() -> Any:
    """The anthropic SDK, imported when a client is made: the catalogue and the request bodies
    (`pricebench models`) need no SDK."""
    try:
        import anthropic
    except ModuleNotFoundError as error:
        raise missing_extra(error, "AnthropicPricer") from None
    return anthropic
