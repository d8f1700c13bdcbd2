"""`OpenAIPricer`: OpenAI's chat completions API, or any server that speaks it (`base_url`).

Specs: `openai:MODEL` and `openai-compatible:MODEL@URL` (Ollama, vLLM, llama.cpp, Groq,
OpenRouter, DeepSeek...). The assistant prefill ("Price is $") is sent as the last message, as the
course did; OpenAI models then answer with the number or repeat the phrase, and both parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

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
        prompt: PromptTemplate | dict[str, Any] | str | Path = COURSE_PROMPT,
        client: Any = None,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = 42,
        reasoning_effort: str | None = None,
        structured: bool = False,
        context: Context | str | None = None,
        cache: ResponseCache | str | Path | bool | None = True,
        budget: float | None = None,
        max_retries: int = 5,
        timeout: float = 60.0,
        name: str | None = None,
        api: Literal["chat", "responses"] = "chat",
    ) -> None:
        if api not in ("chat", "responses"):
            raise PricerError(f"api must be 'chat' or 'responses', got {api!r}")
        self.base_url = base_url
        self.seed = seed
        self.api = api
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
    def spec_name(self) -> str:
        if self.base_url is None:
            return super().spec_name
        return f"openai-compatible:{self.model}@{self.base_url}"

    @property
    def cache_namespace(self) -> str:
        return self.provider if self.base_url is None else f"openai-compatible@{self.base_url}"

    @property
    def endpoint(self) -> str:
        """The API path a request body goes to (also the `url` of a batch line)."""
        return "/v1/responses" if self.api == "responses" else "/v1/chat/completions"

    def request(self, item: Item) -> dict[str, Any]:
        if self.api == "responses":
            return self._responses_request(item)
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

    def _responses_request(self, item: Item) -> dict[str, Any]:
        messages = self.prompt.messages(item, self.context_for(item), prefill=not self.structured)
        body: dict[str, Any] = {
            "model": self.model,
            "input": messages,
            "max_output_tokens": self.max_tokens,
            "store": False,  # nothing kept on OpenAI's side beyond what the API needs
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.reasoning_effort is not None:
            body["reasoning"] = {"effort": self.reasoning_effort}
        if self.structured:
            schema = {
                "type": "json_schema",
                "name": "price",
                "strict": True,
                "schema": PRICE_SCHEMA,
            }
            body["text"] = {"format": schema}
        return body

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        create = (
            self.client.responses.create
            if self.api == "responses"
            else self.client.chat.completions.create
        )
        try:
            response = create(**request)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            # Every later item would fail the same way: end the run instead.
            raise StopRun(f"{self.name}: {type(error).__name__}: {error.message}") from None
        except openai.NotFoundError as error:
            raise StopRun(f"{self.name}: model or endpoint not found: {error.message}") from None
        return response.model_dump(mode="json")

    def read(self, response: dict[str, Any]) -> tuple[str, int, int]:
        if "output" in response and "choices" not in response:
            return self._read_responses(response)
        choices = response.get("choices") or []
        if not choices:
            raise PricerError(f"{self.name}: response has no choices: {response!r:.200}")
        message = choices[0].get("message") or {}
        text = message.get("content") or message.get("refusal") or ""
        usage = response.get("usage") or {}
        return text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)

    def _read_responses(self, response: dict[str, Any]) -> tuple[str, int, int]:
        texts = [
            part.get("text") or part.get("refusal") or ""
            for output in response.get("output") or []
            if output.get("type") == "message"
            for part in output.get("content") or []
        ]
        usage = response.get("usage") or {}
        input_tokens, output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
        return "".join(texts), int(input_tokens or 0), int(output_tokens or 0)

    def get_params(self) -> dict[str, Any]:
        params = {**super().get_params(), "base_url": self.base_url, "seed": self.seed}
        if self.api != "chat":
            params["api"] = self.api
        return params


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
