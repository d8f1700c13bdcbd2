"""`ChatPricer`: what every chat-model pricer does, whatever the provider.

One item is: build the request body from the prompt, the `ChatConfig` and the model catalogue ->
look it up in the response cache -> send it with the provider's SDK, retrying only what a wait can
fix -> read the reply text and token usage -> price the tokens -> parse the price.
A subclass supplies `provider`, `request`, `read` and `_make_client`.

Errors that no retry fixes end the run at once (`StopRun`): a rejected key, a model that does not
exist, an exhausted quota, a server that cannot be reached for several items in a row, the same
invalid-request error on several items in a row, or `TIMEOUT_LIMIT` attempts in a row (on any
thread) that got no answer within the timeout. Each item has a deadline across all its attempts
and waits (`ChatConfig.item_deadline`: `deadline`, else 3 x `timeout`), so a hung server ends a
run in about one timeout, and no item runs much past its deadline.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import tenacity

from pricebench.chat import costs
from pricebench.chat.budget import Budget
from pricebench.chat.cache import ResponseCache, cache_key
from pricebench.chat.config import ChatConfig
from pricebench.chat.context import load_context
from pricebench.chat.deadline import bound_calls
from pricebench.chat.estimate import worst_case
from pricebench.chat.limits import AccountLimiter, limiter_for, request_tokens
from pricebench.chat.models import Provider, resolve
from pricebench.chat.parse import parse_price
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate, load_prompt
from pricebench.errors import PricebenchWarning, PriceParseError, PricerError, StopRun
from pricebench.items import Item
from pricebench.pricer import BasePricer, Estimate
from pricebench.redact import redact, redact_url, remember_secret

PRICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"price": {"type": "number", "description": "estimated price in dollars"}},
    "required": ["price"],
    "additionalProperties": False,
}
# How many items in a row may fail the same way before the run stops.
STREAK_LIMIT = 3
# A refused connection is not worth many retries: the server is down, or the URL is wrong.
CONNECTION_RETRIES = 1
# Attempts in a row, across all threads, that may go unanswered within the timeout.
TIMEOUT_LIMIT = 3
# The shortest attempt worth starting before an item's deadline (seconds).
MIN_ATTEMPT = 0.05


class Context(Protocol):
    """Extra text for the prompt's `{context}` field, such as similar items with their prices."""

    def render(self, item: Item) -> str: ...


@dataclass(frozen=True)
class Reply:
    """What a provider's response says: the text, the tokens billed, and whether it was cut off.

    Token counts follow `costs.TokenUsage`: `input_tokens` includes the cached prompt tokens,
    `output_tokens` the reasoning / thinking ones.
    """

    text: str
    input_tokens: int
    output_tokens: int
    cut_off: bool = False  # stopped by the output budget (finish_reason "length" and friends)
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    service_tier: str | None = None  # the tier that served it, when the reply says

    @property
    def usage(self) -> costs.TokenUsage:
        return costs.TokenUsage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens,
        )


class ReplyCutOff(PriceParseError):
    """The output budget ran out before a price was written."""


class ChatPricer(BasePricer):
    """Base class of chat-model pricers. Thread-safe: `Tester(workers=N)` may share one.

    `cache`: True for the default cache file, False/None for none, a path or a `ResponseCache`.
    `budget`: US dollars; once spent, the next paid call raises `StopRun`, which ends the run
    cleanly (calls already in flight on other threads still finish and are counted). A budget
    needs a known price for the model (`pricebench.chat.costs`).
    `base_url`: another endpoint for the provider's API (a proxy or gateway).
    Settings left as None take the model catalogue's values (`pricebench models MODEL`).
    """

    provider: ClassVar[str] = ""
    default_api_key_env: ClassVar[str | None] = None
    base_url_env: ClassVar[str | None] = None  # the variable the provider's SDK reads

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate | dict[str, Any] | str | Path = COURSE_PROMPT,
        context: Context | str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        reasoning_effort: str | None = None,
        structured: bool = False,
        base_url: str | None = None,
        api_key_env: str | None = "default",
        client: Any = None,
        cache: ResponseCache | str | Path | bool | None = True,
        budget: float | None = None,
        max_retries: int = 5,
        timeout: float = 60.0,
        deadline: float | None = None,
        name: str | None = None,
    ) -> None:
        if not model:
            raise PricerError(f"{type(self).__name__}: a model name is required")
        self.model = model
        self.prompt = load_prompt(prompt)  # a dict or JSON file, from the command line
        self.context = load_context(context)  # "tfidf:5" from the command line, too
        # The SDKs also read a base URL from the environment: take it here, so that it is
        # recorded in the run header and keyed in the cache like one given by hand.
        env_url = os.environ.get(self.base_url_env) if self.base_url_env else None
        self.base_url = base_url or env_url or None
        if self.base_url:
            redact_url(self.base_url)  # remembers any user:pass@ in it, to redact in every form
        self.api_key_env = self.default_api_key_env if api_key_env == "default" else api_key_env
        self.cache = cache
        self.config = ChatConfig(
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            reasoning_effort=reasoning_effort,
            structured=structured,
            max_retries=max_retries,
            timeout=timeout,
            deadline=deadline,
            budget=budget,
        )
        self.info = resolve(model, self.catalogue_provider)
        self._check_config()
        if name is None:
            # A run with retrieval context is another pricer: its results must not mix with
            # those of the plain prompt in the same output directory.
            name = self.spec_name
            if self.context is not None:
                name += f"+{getattr(self.context, 'label', 'context')}"
        self.name = name
        self._given_client = client
        self._client: Any = None
        self._limiter: AccountLimiter | None = None
        self._lock = threading.Lock()
        self._cache = _open_cache(cache)
        self._streak: tuple[str, int] = ("", 0)
        self._timeouts = 0  # attempts in a row, on any thread, that got no answer in time
        self._cut_offs = 0  # replies in a row cut off by the output limit
        self._halt: str | None = None  # a streak's reason to stop before the next item
        # Why and when the run was stopped: the items already in flight give up at once.
        self._stopped: tuple[str, float] | None = None
        # What this pricer has paid (cache hits cost nothing), against its `budget`.
        self._spending = Budget(max_cost=self.config.budget)
        self._run_budget: Budget | None = None  # shared with the run's other pricers (spend_from)
        if client is None:
            self._require_sdk()  # a missing SDK or key fails here, before any item runs
            self._api_key()

    # --- what subclasses provide -------------------------------------------------------------

    def request(self, item: Item) -> dict[str, Any]:
        """The exact JSON body of the API call for `item` (no secrets)."""
        raise NotImplementedError

    def read(self, response: dict[str, Any]) -> Reply:
        """The reply in a raw response."""
        raise NotImplementedError

    def _create(self) -> Callable[..., Any]:
        """The SDK method that sends a request body."""
        raise NotImplementedError

    def _make_client(self, api_key: str | None) -> Any:
        raise NotImplementedError

    def _require_sdk(self) -> None:
        """Raise `MissingExtra` when the provider's SDK is not installed (a client is made
        only on first use; the catalogue and request bodies need no SDK)."""

    # --- the catalogue and the settings ------------------------------------------------------

    @property
    def catalogue_provider(self) -> Provider:
        return self.provider  # type: ignore[return-value]

    def _check_config(self) -> None:
        """Refuse settings the model rejects, and shut-down models, before any paid call."""
        info, config = self.info, self.config
        info.check_available()
        if notice := info.shutdown_notice():
            warnings.warn(notice, PricebenchWarning, stacklevel=4)
        family = info.family
        if config.temperature is not None and not family.temperature:
            raise PricerError(
                f"{self.model} does not accept temperature ({family.label}; "
                f"`pricebench models {self.spec_name}` shows what it takes)"
            )
        if config.reasoning_effort is not None:
            info.check_effort(config.reasoning_effort)
        if config.structured and not family.structured:
            raise PricerError(f"{self.model} has no structured output ({family.label})")
        if config.budget is not None:
            costs.require_price(self.model, self.catalogue_provider, self.base_url)
        else:
            costs.price_of(
                self.model, self.catalogue_provider, self.base_url
            )  # a bad price file fails now
        if other := costs.near_miss(self.model, self.catalogue_provider, self.base_url):
            warnings.warn(
                f"{self.model}: genai-prices has no price for this name, only for another model "
                f"({other}), which is not used: its cost is recorded as unknown (did you mean "
                f"{other}? else give a price with pricebench.chat.costs.set_price or "
                f"${costs.PRICES_ENV})",
                PricebenchWarning,
                stacklevel=4,
            )

    @property
    def max_tokens(self) -> int:
        """The output budget sent: the given one, else the catalogue's for this model."""
        return self.config.max_tokens or self.info.family.default_max_tokens

    @property
    def reasoning_effort(self) -> str | None:
        """The effort sent: the given one, else the lowest that works (reasoning models)."""
        return self.config.reasoning_effort or self.info.default_effort

    @property
    def prefill(self) -> bool:
        """Whether the prompt's assistant prefill is sent (only where the model accepts it)."""
        return self.info.prefill and not self.config.structured

    @property
    def budget(self) -> float | None:
        return self.config.budget

    @property
    def structured(self) -> bool:
        return self.config.structured

    # --- the shared part ---------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The SDK client: the one given, or one made on first use from the environment's key."""
        with self._lock:
            if self._client is None:
                client = self._given_client or self._make_client(self._api_key())
                # pricebench retries itself, to tell a wait-and-retry error from a fatal one.
                self._client = client.with_options(max_retries=0, timeout=self.config.timeout)
                bound_calls(self._client)  # a body sent a byte at a time still times out
            return self._client

    @property
    def limiter(self) -> AccountLimiter:
        """The rate limiter of this pricer's provider account (its address and key), shared with
        every other pricer of that account; a client given by hand is an account of its own,
        unless several pricers are given the same one."""
        client = self.client
        with self._lock:
            if self._limiter is None:
                key = str(getattr(client, "api_key", None) or "")
                digest = hashlib.sha256(key.encode()).hexdigest()[:16]
                account: tuple[str, ...] = (self.provider, str(client.base_url), digest)
                if self._given_client is not None:
                    account += (str(id(self._given_client)),)
                self._limiter = limiter_for(account, f"{self.provider} at {self.where}")
            return self._limiter

    def _api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise PricerError(
                f"{self.name}: no API key: set the {self.api_key_env} environment variable"
            )
        remember_secret(key)  # redacted wherever an error echoes it
        return key

    @property
    def spec_name(self) -> str:
        """The spec that names this provider and model, e.g. "openai:gpt-4o-mini"."""
        return f"{self.provider}:{self.model}"

    @property
    def endpoint(self) -> str:
        """Where requests go, without credentials (recorded in the run header)."""
        return redact_url(self.base_url) if self.base_url else "default"

    @property
    def response_cache(self) -> ResponseCache | None:
        """The cache this pricer reads and fills, or None when caching is off."""
        return self._cache

    @property
    def cache_namespace(self) -> str:
        """The provider part of the cache key: answers from one endpoint never serve another."""
        return self.provider if self.base_url is None else f"{self.provider}@{self.base_url}"

    def fit(self, train: Sequence[Item]) -> ChatPricer:
        """Index the training items when the prompt has a retrieval context; else nothing."""
        fit = getattr(self.context, "fit", None)
        if fit is not None:
            fit(train)
        return self

    @property
    def learns(self) -> bool:  # type: ignore[override]  # a per-instance answer to a class flag
        """Only a retrieval context learns from training items; the model itself does not."""
        return self.context is not None and hasattr(self.context, "fit")

    def context_for(self, item: Item) -> str:
        return self.context.render(item) if self.context is not None else ""

    def messages(self, item: Item) -> list[dict[str, str]]:
        return self.prompt.messages(item, self.context_for(item), prefill=self.prefill)

    def estimate(self, item: Item) -> Estimate:
        with self._lock:
            halt, self._halt = self._halt, None
        if halt is not None:
            raise StopRun(halt)  # before another paid call that would be cut off too
        try:
            estimate = self._estimate(item)
        except ReplyCutOff:
            self._count_cut_off()
            raise
        except PriceParseError:
            self._cut_offs = 0  # a whole reply came back: the output budget is not the problem
            raise
        self._cut_offs = 0
        return estimate

    def _count_cut_off(self) -> None:
        """Count replies cut off by the output limit in a row; after `STREAK_LIMIT`, the next
        item stops the run (this one is recorded, with what it cost)."""
        with self._lock:
            self._cut_offs += 1
            if self._cut_offs < STREAK_LIMIT:
                return
            count, self._cut_offs = self._cut_offs, 0
            effort = self.reasoning_effort
            lower = (
                f", or a lower reasoning_effort than {effort!r}"
                if effort is not None and self.info.efforts and effort != self.info.efforts[0]
                else ""
            )
            self._halt = (
                f"{self.name}: replies cut off by the output limit ({self.max_tokens} tokens, "
                f"thinking included) {count} items in a row: raise it with --param "
                f"max_tokens=N (max_tokens=N in Python){lower}"
            )

    def _estimate(self, item: Item) -> Estimate:
        request = self.request(item)
        key = cache_key(self.cache_namespace, self.model, request)
        response = self._cache.get(key) if self._cache is not None else None
        if response is not None:
            return self.estimate_from(response, cached=True)
        self._check_budget()
        run_budget, worst = self._run_budget, 0.0
        if run_budget is not None:
            worst = worst_case(self, request) or 0.0
            run_budget.reserve(worst)  # StopRun, before the call, once it could pass the cap
        paid: float | None = None
        try:
            response = self.send(request)
            reply = self.read(response)  # a malformed response raises here and is not cached
            paid = (
                self.cost(reply.usage, service_tier=reply.service_tier)
                if run_budget is not None
                else None
            )
        finally:
            if run_budget is not None:
                run_budget.settle(worst, paid)
        if self._cache is not None:
            # Cached even when the reply holds no price: it was paid for, and is the answer.
            self._cache.put(key, response)
        return self.estimate_from(response, reply=reply)

    def estimate_from(
        self,
        response: dict[str, Any],
        *,
        cached: bool = False,
        batch: bool = False,
        reply: Reply | None = None,
    ) -> Estimate:
        """The `Estimate` in a raw response (also a batch result body, with `batch=True`).

        A cached response costs nothing: it was paid for when it was first asked. A paid reply
        that holds no price still counts toward the cost and the budget: the error carries it.
        """
        reply = reply or self.read(response)
        listed = self.cost(reply.usage, batch=batch, service_tier=reply.service_tier)
        paid = 0.0 if cached else listed
        if paid:
            self._spending.add(1, paid)
        try:
            price = self._parse_reply(reply)
        except PriceParseError as error:
            error.input_tokens = reply.input_tokens
            error.output_tokens = reply.output_tokens
            error.cache_read_tokens = reply.cache_read_tokens
            error.cache_write_tokens = reply.cache_write_tokens
            error.cost = paid
            error.cached = cached
            error.list_cost = listed
            raise
        return Estimate(
            price=price,
            reply=reply.text,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost=paid,
            cached=cached,
            list_cost=listed,
            cache_read_tokens=reply.cache_read_tokens,
            cache_write_tokens=reply.cache_write_tokens,
        )

    def _parse_reply(self, reply: Reply) -> float:
        try:
            return self.parse(reply.text)
        except PriceParseError:
            if not reply.cut_off:
                raise
        if self.info.family.thinking == "always":
            message = (
                f"thinking used the whole output budget ({self.max_tokens} tokens, thinking "
                "and text together): raise max_tokens"
            )
        elif self.info.reasoning or reply.reasoning_tokens:
            message = (
                f"reasoning used the whole output budget ({self.max_tokens} tokens, "
                f"{reply.reasoning_tokens} of them reasoning): raise max_tokens"
            )
        else:
            message = f"reply cut off at max_tokens={self.max_tokens}: raise max_tokens"
        raise ReplyCutOff(message, reply.text)

    def predict(self, item: Item) -> float:
        return self.estimate(item).price

    def estimate_batch(self, items: Sequence[Item], workdir: Path) -> Iterator[Any]:
        """`Tester(mode="batch")`: price `items` with the provider's batch API, at batch prices."""
        from pricebench.batch import run_batches

        if not self.info.family.batch:
            raise PricerError(f"{self.model}: no batch API ({self.info.family.label})")
        return run_batches(self, items, workdir)

    # Deprecated name: the Tester still asks for it, until it asks for `estimate_batch`.

    def cost(
        self,
        usage: costs.TokenUsage | int,
        output_tokens: int = 0,
        *,
        batch: bool = False,
        service_tier: str | None = None,
    ) -> float | None:
        """US dollars for one call (its `TokenUsage`, or input and output tokens), by
        genai-prices' calculation, at the `service_tier` the reply names; None when the model's
        price is unknown."""
        return costs.cost(
            self.model,
            usage,
            output_tokens,
            batch=batch,
            provider=self.catalogue_provider,  # a server of one's own has no list price
            base_url=self.base_url,
            service_tier=service_tier,
        )

    def parse(self, text: str) -> float:
        """The price in a reply: a JSON `{"price": x}` when structured, else `parse_price`."""
        if not self.config.structured:
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

    # --- sending, retrying and stopping ------------------------------------------------------

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform the call; retry what a wait can fix; stop the run on what no item survives."""
        create = self._create()
        known = _keywords(create)
        # Body fields the SDK's signature lacks (anthropic 2 has no `temperature`) still go out.
        kwargs = {k: v for k, v in request.items() if k in known}
        extra = {k: v for k, v in request.items() if k not in known}
        if extra:
            kwargs["extra_body"] = extra
        began = time.monotonic()
        deadline = began + self.config.item_deadline
        attempts = self.config.max_retries + 1
        limiter = self.limiter
        tokens = request_tokens(request, self.max_tokens)
        rate_limited = 0  # 429s: a reason to slow down, not one of the item's retries

        def stopped() -> str | None:
            # A stop applies to the items in flight when it came, not to a later run.
            stop = self._stopped
            return stop[0] if stop is not None and stop[1] >= began else None

        def stop(state: tenacity.RetryCallState) -> bool:
            late = time.monotonic() >= deadline - MIN_ATTEMPT
            tries = state.attempt_number - rate_limited
            return tries >= attempts or late or stopped() is not None

        def wait(state: tenacity.RetryCallState) -> float:
            return max(0.0, min(_wait(state), deadline - time.monotonic() - MIN_ATTEMPT))

        def attempt() -> Any:
            nonlocal rate_limited
            if (reason := stopped()) is not None:
                raise StopRun(reason)
            ticket = limiter.acquire(deadline - MIN_ATTEMPT)
            if ticket is None:
                raise PricerError(
                    f"{self.name}: no room under the rate limit of {self.where} before the "
                    f"item's deadline ({self.config.item_deadline:g} s)"
                )
            left = max(MIN_ATTEMPT, deadline - time.monotonic())
            try:
                response = create(**kwargs, timeout=min(self.config.timeout, left))
            except Exception as error:
                limited = is_rate_limit(error)
                rate_limited += limited
                headers = getattr(getattr(error, "response", None), "headers", None)
                limiter.release(ticket, headers, tokens=tokens, rate_limited=limited, ok=False)
                self._answered(error)
                raise
            limiter.release(ticket, getattr(response, "headers", None), tokens=tokens)
            self._answered(None)
            return response

        retrying = tenacity.Retrying(retry=_should_retry, wait=wait, stop=stop, reraise=True)
        try:
            response = retrying(attempt)
        except Exception as error:
            self._failed(error, began)
            raise
        with self._lock:
            self._streak = ("", 0)
        # The SDK's raw response (for the rate-limit headers) holds the parsed one.
        parse = getattr(response, "parse", None)
        parsed = parse() if callable(parse) else response
        return parsed.model_dump(mode="json")

    def _answered(self, error: Exception | None) -> None:
        """Count attempts unanswered in time; stop the run after `TIMEOUT_LIMIT` in a row."""
        timed_out = error is not None and "APITimeoutError" in _class_names(error)
        with self._lock:
            self._timeouts = self._timeouts + 1 if timed_out else 0
            count = self._timeouts
            if count < TIMEOUT_LIMIT:
                return
            self._timeouts = 0
            reason = (
                f"{self.name}: no answer from {self.where} within the timeout "
                f"({self.config.timeout:g} s), {count} attempts in a row: is the server up? "
                "(a slow model may need a longer --param timeout=SECONDS)"
            )
            self._stopped = (reason, time.monotonic())
        raise StopRun(reason) from None

    @property
    def where(self) -> str:
        """The address requests go to, without credentials (for messages)."""
        if self.base_url:
            return self.endpoint
        url = getattr(self._client, "base_url", None)
        return redact_url(str(url)) if url is not None else f"the {self.provider} API"

    def _failed(self, error: Exception, began: float) -> None:
        """Turn a fatal error into `StopRun`, and count repeated ones; else let the item fail.
        An item that ran out of time on 429s counts toward no streak while the account still
        answers others (`began`: when the item was sent, on the monotonic clock)."""
        kind = error_kind(error)
        limiter = self._limiter
        if is_rate_limit(error) and limiter is not None and limiter.progressed_since(began):
            return
        message = redact(_message(error))
        if kind == "fatal":
            hint = _fatal_hint(error, self)
            raise StopRun(f"{self.name}: {type(error).__name__}: {message}{hint}") from None
        if kind == "connection":
            streak_key, limit_message = (
                "connection",
                (
                    f"cannot reach {self.endpoint if self.base_url else self.provider}: "
                    f"is the server running? ({type(error).__name__}: {message})"
                ),
            )
        elif kind == "invalid":
            streak_key = f"invalid:{message}"
            limit_message = f"{self.model} rejects every request: {message}"
        elif kind == "transient":  # still failing after every retry
            status = getattr(error, "status_code", None) or type(error).__name__
            streak_key = f"transient:{status}"
            limit_message = (
                f"{self.endpoint if self.base_url else self.provider} keeps failing after "
                f"{self.config.max_retries} retries ({type(error).__name__}: {message})"
            )
        else:
            return
        with self._lock:
            previous, count = self._streak
            count = count + 1 if previous == streak_key else 1
            self._streak = (streak_key, count)
        if count >= STREAK_LIMIT:
            raise StopRun(f"{self.name}: {limit_message} ({count} items in a row)") from None

    @property
    def spent_(self) -> float:
        """US dollars this pricer has paid so far."""
        return self._spending.cost

    def _check_budget(self) -> None:
        self._spending.check()  # StopRun once the budget is spent

    def spend_from(self, budget: Budget) -> ChatPricer:
        """Count this pricer's calls against `budget`, a cap shared with the run's other
        pricers (`pricebench run --max-cost`): each call first holds its worst case (prompt and
        whole `max_tokens` at list price), and none starts that could carry the spend so far and
        the calls in flight past the cap. Refused for a model with no known price."""
        if budget.max_cost is not None:
            costs.require_price(self.model, self.catalogue_provider, self.base_url)
        self._run_budget = budget
        return self

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The settings recorded in a run's header (never a key, nor URL credentials)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "endpoint": self.endpoint,
            "system": self.prompt.system,
            "user": self.prompt.user,
            "prefill": self.prompt.prefill if self.prefill else None,
            "max_tokens": self.max_tokens,
            "temperature": self.config.temperature,
            "seed": self.config.seed if self.info.family.seed else None,
            "reasoning_effort": self.reasoning_effort,
            "structured": self.config.structured,
            "context": repr(self.context) if self.context is not None else None,
            "budget": self.config.budget,
            "max_retries": self.config.max_retries,
            "timeout": self.config.timeout,
            "deadline": self.config.item_deadline,
        }

    resumable_params: ClassVar[frozenset[str]] = ChatConfig.RESUMABLE

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"


def _class_names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def error_kind(error: BaseException) -> str:
    """ "fatal", "transient", "connection", "invalid" or "other", for either SDK's errors.

    Told by HTTP status (both SDKs raise `APIStatusError` subclasses that carry it) and by class
    name for the errors that have no response, so this module imports no SDK.
    """
    names = {cls.__name__ for cls in type(error).__mro__}
    status = getattr(error, "status_code", None)
    if status is None:
        if "APITimeoutError" in names:
            return "transient"
        if "APIConnectionError" in names:
            return "connection"
        return "other"
    if status == 429:
        # A quota, unlike a rate limit, is not fixed by waiting (OpenAI: insufficient_quota).
        return "fatal" if _code(error) == "insufficient_quota" else "transient"
    if status in (401, 402, 403, 404):
        return "fatal"
    if status in (408, 409) or status >= 500:
        return "transient"  # includes Anthropic's 529 "overloaded"
    if status in (400, 413, 422):
        if "credit balance" in _message(error).lower():
            return "fatal"  # Anthropic's out-of-credit error is a 400
        return "invalid"
    return "other"


def _fatal_hint(error: BaseException, pricer: ChatPricer) -> str:
    """What to check after an error that ends the run."""
    status = getattr(error, "status_code", None)
    if status in (401, 403):
        if getattr(pricer, "compatible", False):
            return " (name the variable holding this server's key: --param api_key_env=NAME)"
        return f" (check the key in {pricer.api_key_env})" if pricer.api_key_env else ""
    if status == 404:
        where = pricer.endpoint if pricer.base_url else pricer.provider
        return f" (check the model name {pricer.model!r} and the address {where})"
    return ""


def split_query(url: str | None) -> tuple[str | None, dict[str, str]]:
    """A base URL without its query string, and that query as parameters: the SDKs append the
    API path to the base URL as text, so "…/v1?api-key=K" would become "…/v1?api-key=Kchat/…"."""
    if url is None or "?" not in url:
        return url, {}
    parts = urlsplit(url)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment))
    return bare, dict(parse_qsl(parts.query, keep_blank_values=True))


def _code(error: BaseException) -> str | None:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        nested = body.get("error")
        inner = nested if isinstance(nested, dict) else body
        code = inner.get("code") or inner.get("type")
        return str(code) if code else None
    return getattr(error, "code", None)


def _message(error: BaseException) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        nested = body.get("error")
        inner = nested if isinstance(nested, dict) else body
        if isinstance(inner.get("message"), str):
            return inner["message"]
    return str(getattr(error, "message", None) or error)


def is_rate_limit(error: BaseException) -> bool:
    """A 429 that waiting fixes (a rate limit), not an exhausted quota."""
    return getattr(error, "status_code", None) == 429 and error_kind(error) == "transient"


def _retry_after(error: BaseException | None) -> float | None:
    """Seconds the server asked to wait (Retry-After / retry-after-ms), if it said."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP date: fall back to backoff
    return None


def _should_retry(state: tenacity.RetryCallState) -> bool:
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return False
    error = outcome.exception()
    if error is None:
        return False
    kind = error_kind(error)
    if kind == "connection":
        return state.attempt_number <= CONNECTION_RETRIES
    return kind == "transient"


_backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=8.0)


def _wait(state: tenacity.RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    asked = _retry_after(error)
    if asked is not None and 0 <= asked <= 60:
        # Stretched at random, so that the items told to wait together do not return together.
        return asked * (1 + 0.5 * random.random())
    return _backoff(state)


def _keywords(function: Callable[..., Any]) -> set[str]:
    return set(inspect.signature(function).parameters)


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
