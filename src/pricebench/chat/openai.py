"""`OpenAIPricer`: OpenAI's Chat Completions or Responses API, or any server that speaks the
former (`openai-compatible:MODEL@URL`: Ollama, vLLM, llama.cpp, Groq, OpenRouter, DeepSeek...).

What a request holds comes from the model catalogue (`pricebench.chat.models`): the course's
"Price is $" assistant turn only where the model continues it, `max_completion_tokens` with room
for reasoning and the lowest reasoning effort on reasoning models, no temperature or seed where
the model rejects them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pricebench.chat.base import PRICE_SCHEMA, ChatPricer, Reply, split_query
from pricebench.chat.models import Provider
from pricebench.errors import PricerError, SpecError, missing_extra
from pricebench.items import Item

if TYPE_CHECKING:
    import openai

# Local servers ignore the key, but the SDK insists on one.
NO_KEY = "not-needed"


class OpenAIPricer(ChatPricer):
    """Asks an OpenAI chat model, or a model behind an OpenAI-compatible server, for a price.

    `api="responses"` uses the Responses API instead of Chat Completions; models served only
    there (gpt-5.5-pro, gpt-5-pro, o1-pro, o3-pro) use it unless told otherwise, and refuse
    `api="chat"` before any call. `compatible=True` (what
    the `openai-compatible:` spec sets) marks a server that is not OpenAI's: it gets the generic
    server rules and never `OPENAI_API_KEY`, only the key in `api_key_env` when one is named.
    Other options: see `ChatPricer`.
    """

    provider = "openai"
    default_api_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"

    def __init__(
        self,
        model: str,
        *,
        api: Literal["chat", "responses"] | None = None,
        compatible: bool = False,
        seed: int | None = 42,
        **options: Any,
    ) -> None:
        if api not in (None, "chat", "responses"):
            raise PricerError(f"api must be 'chat' or 'responses', got {api!r}")
        if compatible and not options.get("base_url"):
            raise PricerError("an OpenAI-compatible server needs its base_url")
        self.api: Literal["chat", "responses"] = api or "chat"
        self.compatible = compatible
        if compatible:
            options.setdefault("api_key_env", None)  # never OpenAI's key to another server
        super().__init__(model, seed=seed, **options)
        if self.info.responses_only:
            if api == "chat":
                raise PricerError(
                    f"{model} is served by OpenAI's Responses API only, not Chat Completions: "
                    "leave api unset or give api='responses' (--param api=responses)"
                )
            self.api = "responses"

    @property
    def catalogue_provider(self) -> Provider:
        return "openai-compatible" if self.compatible else "openai"

    def _api_key(self) -> str | None:
        if self.compatible and self.api_key_env is None:
            return NO_KEY
        return super()._api_key()

    def _require_sdk(self) -> None:
        _sdk()

    def _make_client(self, api_key: str | None) -> openai.OpenAI:
        base_url, query = split_query(self.base_url)
        return _sdk().OpenAI(api_key=api_key, base_url=base_url, default_query=query or None)

    def _create(self) -> Callable[..., Any]:
        # The raw response: its headers say how much of the account's rate limits is left.
        if self.api == "responses":
            return self.client.responses.with_raw_response.create
        return self.client.chat.completions.with_raw_response.create

    @property
    def spec_name(self) -> str:
        if self.compatible:
            return f"openai-compatible:{self.model}@{self.endpoint}"
        return super().spec_name

    @property
    def cache_namespace(self) -> str:
        if self.compatible:
            return f"openai-compatible@{self.base_url}"
        return super().cache_namespace

    @property
    def path(self) -> str:
        """The API path a request body goes to (also the `url` of a batch line)."""
        return "/v1/responses" if self.api == "responses" else "/v1/chat/completions"

    def request(self, item: Item) -> dict[str, Any]:
        if self.api == "responses":
            return self._responses_request(item)
        family = self.info.family
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages(item),
            family.token_parameter: self.max_tokens,
        }
        if self.config.seed is not None and family.seed:
            body["seed"] = self.config.seed
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        if self.config.structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "price", "strict": True, "schema": PRICE_SCHEMA},
            }
        return body

    def _responses_request(self, item: Item) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "input": self.messages(item),
            "max_output_tokens": self.max_tokens,
            "store": False,  # nothing kept on OpenAI's side beyond what the API needs
        }
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        if self.reasoning_effort is not None:
            body["reasoning"] = {"effort": self.reasoning_effort}
        if self.config.structured:
            schema = {
                "type": "json_schema",
                "name": "price",
                "strict": True,
                "schema": PRICE_SCHEMA,
            }
            body["text"] = {"format": schema}
        return body

    def read(self, response: dict[str, Any]) -> Reply:
        if "output" in response and "choices" not in response:
            return self._read_responses(response)
        choices = response.get("choices") or []
        if not choices:
            raise PricerError(f"{self.name}: response has no choices: {response!r:.200}")
        message = choices[0].get("message") or {}
        usage = response.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        prompt_details = usage.get("prompt_tokens_details") or {}
        return Reply(
            text=message.get("content") or message.get("refusal") or "",
            # prompt_tokens counts the cached ones too; they bill at the cache-read rate.
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            cut_off=choices[0].get("finish_reason") == "length",
            reasoning_tokens=int(details.get("reasoning_tokens") or 0),
            cache_read_tokens=int(prompt_details.get("cached_tokens") or 0),
            cache_write_tokens=int(prompt_details.get("cache_write_tokens") or 0),
            service_tier=response.get("service_tier"),
        )

    def _read_responses(self, response: dict[str, Any]) -> Reply:
        texts = [
            part.get("text") or part.get("refusal") or ""
            for output in response.get("output") or []
            if output.get("type") == "message"
            for part in output.get("content") or []
        ]
        usage = response.get("usage") or {}
        details = usage.get("output_tokens_details") or {}
        input_details = usage.get("input_tokens_details") or {}
        incomplete = response.get("incomplete_details") or {}
        return Reply(
            text="".join(texts),
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cut_off=response.get("status") == "incomplete"
            and incomplete.get("reason") == "max_output_tokens",
            reasoning_tokens=int(details.get("reasoning_tokens") or 0),
            cache_read_tokens=int(input_details.get("cached_tokens") or 0),
            cache_write_tokens=int(input_details.get("cache_write_tokens") or 0),
            service_tier=response.get("service_tier"),
        )

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        params = super().get_params()
        if self.api != "chat":
            params["api"] = self.api
        return params


def _sdk() -> Any:
    """The openai SDK, imported when a client is made: the catalogue and the request bodies
    (`pricebench models`) need no SDK."""
    try:
        import openai
    except ModuleNotFoundError as error:
        raise missing_extra(error, "OpenAIPricer") from None
    return openai


def openai_compatible(spec: str, *, cache: Any = True, **options: Any) -> OpenAIPricer:
    """`MODEL@URL` -> an `OpenAIPricer` talking to the server at URL.

    The server gets no key unless `api_key_env` names the environment variable that holds one
    (e.g. `--param api_key_env=GROQ_API_KEY`).
    """
    model, url = _split_model_url(spec)
    return OpenAIPricer(model, base_url=url, compatible=True, cache=cache, **options)


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
