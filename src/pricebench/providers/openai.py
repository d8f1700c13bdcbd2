"""`OpenAIPricer`: OpenAI's chat completions API, or any server that speaks it (`base_url`).

Specs: `openai:MODEL` and `openai-compatible:MODEL@URL` (Ollama, vLLM, llama.cpp, Groq,
OpenRouter, DeepSeek...). The assistant prefill ("Price is $") is sent as the last message, as the
course did; OpenAI models then answer with the number or repeat the phrase, and both parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import openai

from pricebench.cache import ResponseCache
from pricebench.errors import PricerError, SpecError, StopRun
from pricebench.items import Item
from pricebench.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.providers.base import PRICE_SCHEMA, ChatPricer, Context

# Local servers ignore the key but the SDK insists on one.
NO_KEY = "not-needed"


class OpenAIPricer(ChatPricer):
    """Asks an OpenAI chat model (or one behind an OpenAI-compatible `base_url`) for a price."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate = COURSE_PROMPT,
        client: Any = None,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = 42,
        reasoning_effort: str | None = None,
        structured: bool = False,
        context: Context | None = None,
        cache: ResponseCache | str | Path | bool | None = True,
        budget: float | None = None,
        max_retries: int = 5,
        timeout: float = 60.0,
        name: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.seed = seed
        if name is None and base_url is not None:
            name = f"openai-compatible:{model}@{base_url}"
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

    def _api_key(self) -> str | None:
        # A server of one's own often needs no key; OpenAI itself always does.
        if self.base_url is not None and not os.environ.get(self.api_key_env or ""):
            return NO_KEY
        return super()._api_key()

    def _make_client(self, api_key: str | None) -> openai.OpenAI:
        return openai.OpenAI(api_key=api_key, base_url=self.base_url)

    @property
    def cache_namespace(self) -> str:
        return self.provider if self.base_url is None else f"openai-compatible@{self.base_url}"

    def request(self, item: Item) -> dict[str, Any]:
        messages = self.prompt.messages(item, self.context_for(item), prefill=not self.structured)
        # OpenAI now names the output limit max_completion_tokens (reasoning models accept only
        # that); other servers mostly know the older max_tokens.
        limit = "max_completion_tokens" if self.base_url is None else "max_tokens"
        body: dict[str, Any] = {"model": self.model, "messages": messages, limit: self.max_tokens}
        if self.seed is not None:
            body["seed"] = self.seed
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        if self.structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "price", "strict": True, "schema": PRICE_SCHEMA},
            }
        return body

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.chat.completions.create(**request)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            # Every later item would fail the same way: end the run instead.
            raise StopRun(f"{self.name}: {type(error).__name__}: {error.message}") from None
        except openai.NotFoundError as error:
            raise StopRun(f"{self.name}: model or endpoint not found: {error.message}") from None
        return response.model_dump(mode="json")

    def read(self, response: dict[str, Any]) -> tuple[str, int, int]:
        choices = response.get("choices") or []
        if not choices:
            raise PricerError(f"{self.name}: response has no choices: {response!r:.200}")
        message = choices[0].get("message") or {}
        text = message.get("content") or message.get("refusal") or ""
        usage = response.get("usage") or {}
        return text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "base_url": self.base_url, "seed": self.seed}


def openai_compatible(
    spec: str, *, cache: ResponseCache | str | Path | bool | None = True, **options: Any
) -> OpenAIPricer:
    """`MODEL@URL` -> an `OpenAIPricer` talking to the server at URL."""
    model, url = _split_model_url(spec)
    return OpenAIPricer(model, base_url=url, cache=cache, **options)


def _split_model_url(spec: str) -> tuple[str, str]:
    for scheme in ("@http://", "@https://"):
        if scheme in spec:
            model, _, rest = spec.partition(scheme)
            return model, scheme[1:] + rest
    model, sep, url = spec.rpartition("@")
    if not sep or not model or not url:
        raise SpecError(
            f"openai-compatible wants MODEL@URL, e.g. llama3.2@http://localhost:11434/v1; "
            f"got {spec!r}"
        )
    return model, url
