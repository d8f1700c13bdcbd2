"""`ChatPricer`: what every chat-model pricer does, whatever the provider.

One item is: build the request body -> look it up in the response cache -> send it with the
provider's SDK (which retries 429s, honouring Retry-After, 5xx and timeouts with exponential
backoff) -> read the reply text and token usage -> parse the price -> price the tokens.
A subclass supplies `provider`, `request`, `send`, `read` and `_make_client`.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pricebench import costs
from pricebench.cache import ResponseCache, cache_key
from pricebench.context import load_context
from pricebench.errors import PriceParseError, PricerError, StopRun
from pricebench.items import Item
from pricebench.parse import parse_price
from pricebench.pricer import Estimate
from pricebench.prompts import COURSE_PROMPT, PromptTemplate, load_prompt

PRICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"price": {"type": "number", "description": "estimated price in dollars"}},
    "required": ["price"],
    "additionalProperties": False,
}


class Context(Protocol):
    """Extra text for the prompt's `{context}` field, such as similar items with their prices."""

    def render(self, item: Item) -> str: ...


class ChatPricer:
    """Base class of chat-model pricers. Thread-safe: `Tester(workers=N)` may share one.

    `cache`: True for the default cache file, False/None for none, a path or a `ResponseCache`.
    `budget`: US dollars; once spent, the next paid call raises `StopRun`, which ends the run
    cleanly (calls already in flight on other threads still finish and are counted).
    `max_retries` and `timeout` (seconds per attempt) configure the SDK client's own retries.
    """

    provider: ClassVar[str] = ""
    default_max_tokens: ClassVar[int] = 16
    batch_options: Any = None  # a `pricebench.batch.BatchOptions` for `batch_estimates`

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate | dict[str, Any] | str | Path = COURSE_PROMPT,
        client: Any = None,
        api_key_env: str | None = None,
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
        if not model:
            raise PricerError(f"{type(self).__name__}: a model name is required")
        if budget is not None and budget < 0:
            raise PricerError(f"budget must not be negative, got {budget}")
        self.model = model
        self.prompt = load_prompt(prompt)  # a dict or JSON file, from the command line
        self.api_key_env = api_key_env
        self.max_tokens = max_tokens if max_tokens is not None else self.default_max_tokens
        self.temperature = temperature
        self.reasoning_effort = reasoning_effort
        self.structured = structured
        self.context = load_context(context)  # "tfidf:5" from the command line, too
        self.cache = cache
        self.budget = budget
        self.max_retries = max_retries
        self.timeout = timeout
        if name is None:
            # A run with retrieval context is another pricer: its results must not mix with
            # those of the plain prompt in the same output directory.
            name = self.spec_name
            if self.context is not None:
                name += f"+{getattr(self.context, 'label', 'context')}"
        self.name = name
        self._given_client = client
        self._client: Any = None
        self._lock = threading.Lock()
        self._cache = _open_cache(cache)
        self.spent_ = 0.0  # US dollars paid by this pricer (cache hits cost nothing)
        if client is None:
            self._api_key()  # a missing key fails here, before any item runs
        costs.price_of(model)  # so does a bad $PRICEBENCH_PRICES file

    # --- what subclasses provide -------------------------------------------------------------

    def request(self, item: Item) -> dict[str, Any]:
        """The exact JSON body of the API call for `item` (no secrets)."""
        raise NotImplementedError

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform the call with the SDK; the raw response as a plain dict."""
        raise NotImplementedError

    def read(self, response: dict[str, Any]) -> tuple[str, int, int]:
        """Reply text, input tokens and output tokens of a raw response."""
        raise NotImplementedError

    def _make_client(self, api_key: str | None) -> Any:
        raise NotImplementedError

    def _configure(self, client: Any) -> Any:
        """The client with this pricer's retry and timeout settings."""
        return client.with_options(max_retries=self.max_retries, timeout=self.timeout)

    # --- the shared part ---------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The SDK client: the one given, or one made on first use from the environment's key."""
        with self._lock:
            if self._client is None:
                if self._given_client is not None:
                    self._client = self._configure(self._given_client)
                else:
                    self._client = self._configure(self._make_client(self._api_key()))
            return self._client

    def _api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise PricerError(
                f"{self.name}: no API key: set the {self.api_key_env} environment variable"
            )
        return key

    @property
    def spec_name(self) -> str:
        """The spec that names this provider and model, e.g. "openai:gpt-4o-mini"."""
        return f"{self.provider}:{self.model}"

    @property
    def response_cache(self) -> ResponseCache | None:
        """The cache this pricer reads and fills, or None when caching is off."""
        return self._cache

    @property
    def cache_namespace(self) -> str:
        """The provider part of the cache key (OpenAI-compatible servers add their URL)."""
        return self.provider

    def fit(self, train: Sequence[Item]) -> ChatPricer:
        """Index the training items when the prompt has a retrieval context; else nothing."""
        fit = getattr(self.context, "fit", None)
        if fit is not None:
            fit(train)
        return self

    def context_for(self, item: Item) -> str:
        return self.context.render(item) if self.context is not None else ""

    def estimate(self, item: Item) -> Estimate:
        request = self.request(item)
        key = cache_key(self.cache_namespace, self.model, request)
        response = self._cache.get(key) if self._cache is not None else None
        if response is not None:
            return self.estimate_from(response, cached=True)
        self._check_budget()
        response = self.send(request)
        reply = self.read(response)  # a malformed response raises here and is not cached
        if self._cache is not None:
            # Cached even when the reply holds no price: it was paid for, and is the answer.
            self._cache.put(key, response)
        with self._lock:  # counted before parsing: an unparseable reply was paid for too
            self.spent_ += self.cost(reply[1], reply[2])
        return self.estimate_from(response, reply=reply)

    def estimate_from(
        self,
        response: dict[str, Any],
        *,
        cached: bool = False,
        batch: bool = False,
        reply: tuple[str, int, int] | None = None,
    ) -> Estimate:
        """The `Estimate` in a raw response (also a batch result body, with `batch=True`).

        A cached response costs nothing: it was paid for when it was first asked.
        """
        text, input_tokens, output_tokens = reply or self.read(response)
        price = self.parse(text)
        paid = 0.0 if cached else self.cost(input_tokens, output_tokens, batch=batch)
        return Estimate(
            price=price,
            reply=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=paid,
            cached=cached,
        )

    def predict(self, item: Item) -> float:
        return self.estimate(item).price

    def batch_estimates(self, items: Sequence[Item], workdir: Path) -> Iterator[Any]:
        """`Tester(mode="batch")`: price `items` with the provider's batch API, at batch prices."""
        from pricebench.batch import run_batches

        return run_batches(self, items, workdir)

    def cost(self, input_tokens: int, output_tokens: int, *, batch: bool = False) -> float:
        return costs.cost(self.model, input_tokens, output_tokens, batch=batch)

    def parse(self, text: str) -> float:
        """The price in a reply: a JSON `{"price": x}` when structured, else `parse_price`."""
        if not self.structured:
            return parse_price(text)
        try:
            price = json.loads(text)["price"]
        except (json.JSONDecodeError, TypeError, KeyError):
            raise PriceParseError(f"no JSON price in reply: {text!r}", text) from None
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            raise PriceParseError(f"price is not a number in reply: {text!r}", text)
        if not math.isfinite(price) or price < 0:
            raise PriceParseError(f"unusable price in reply: {text!r}", text)
        return float(price)

    def _check_budget(self) -> None:
        if self.budget is None:
            return
        with self._lock:
            spent = self.spent_
        if spent >= self.budget:
            raise StopRun(f"budget of ${self.budget:g} reached (spent ${spent:.4f})")

    def get_params(self) -> dict[str, Any]:
        """The settings recorded in a run's header (never a key)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "system": self.prompt.system,
            "user": self.prompt.user,
            "prefill": self.prompt.prefill,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "reasoning_effort": self.reasoning_effort,
            "structured": self.structured,
            "context": repr(self.context) if self.context is not None else None,
            "budget": self.budget,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"


def _open_cache(cache: ResponseCache | str | Path | bool | None) -> ResponseCache | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return ResponseCache()
    if isinstance(cache, ResponseCache):
        return cache
    if isinstance(cache, (str, Path)):
        return ResponseCache(cache)
    raise PricerError(f"cache must be True, False, a path or a ResponseCache, got {cache!r}")
