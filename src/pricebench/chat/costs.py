"""What one API call cost, in US dollars, from the tokens its response reports.

Each call is priced on its own usage (`TokenUsage`: input tokens with the cached ones among them,
output tokens with the reasoning / thinking ones among them) by `genai-prices`, the price list
Pydantic keeps current for every major provider, through its own `calc_price`. So long-context
tiers (a prompt above the threshold pays the higher rate on every token), cached-prompt reads and
writes and batch prices are the library's, not a rate derived here; a new model is priced when
that package learns it. A batch call asks for the library's batch price; where the library lists
none, half the interactive price (`BATCH_DISCOUNT`: both providers' batch APIs bill half).

On top of it, `set_price` or a JSON file named by `$PRICEBENCH_PRICES` overrides or adds models:
`{"model": [input, output]}`, or `{"model": {"input": x, "output": y, "cache_read": r,
"cache_write": w, "tiers": [{"above": 272000, "input": x2, "output": y2}]}}` in US dollars per
million tokens. An override for a name also covers the snapshots and fine-tunes named after it,
and is computed by the same genai-prices code. A fine-tune (`ft:BASE:org::id`) is priced as its
base model's fine-tune. A model with no known price costs `None` ("unknown"), never $0: a budget
on such a model is refused before the first call (see `require_price`).
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pricebench.chat.models import base_model, resolve
from pricebench.errors import PricerError

if TYPE_CHECKING:
    import genai_prices

PRICES_ENV = "PRICEBENCH_PRICES"
BATCH_DISCOUNT = 0.5  # OpenAI's and Anthropic's batch APIs both bill half price
BATCH_CONTEXT = {"processing": "batch"}  # how genai-prices names a batch request's prices


@dataclass(frozen=True)
class TokenUsage:
    """The tokens one call was billed for, as genai-prices counts them.

    `input_tokens` is every prompt token, the cached ones included (OpenAI's `prompt_tokens`;
    Anthropic's `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`);
    `cache_read_tokens` and `cache_write_tokens` say how many of them were read from or written to
    the provider's prompt cache. `output_tokens` includes the reasoning / thinking tokens, which
    bill as output; `reasoning_tokens` says how many of them there were.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def genai(self) -> genai_prices.Usage:
        from genai_prices import Usage

        values = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_reasoning_tokens": self.reasoning_tokens,
        }
        return Usage(**{k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class Tier:
    """Long-context rates: a prompt of more than `above` input tokens pays these on every token."""

    above: int
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens (the base tier), and where the figures came from.

    `cache_read` / `cache_write` default to the input rate; `tiers` are long-context rates.
    """

    input: float
    output: float
    source: str = "override"
    cache_read: float | None = None
    cache_write: float | None = None
    tiers: tuple[Tier, ...] = field(default_factory=tuple)

    def genai(self) -> genai_prices.types.ModelPrice:
        """The same prices as a genai-prices `ModelPrice`, so that its code computes the cost."""
        from genai_prices.types import ModelPrice as GenaiPrice
        from genai_prices.types import Tier as GenaiTier
        from genai_prices.types import TieredPrices

        def rate(name: str) -> Decimal | TieredPrices | None:
            base = getattr(self, name)
            if base is None:
                return None
            steps = [
                GenaiTier(start=tier.above, price=Decimal(str(getattr(tier, name))))
                for tier in self.tiers
                if getattr(tier, name) is not None
            ]
            return TieredPrices(Decimal(str(base)), steps) if steps else Decimal(str(base))

        return GenaiPrice(
            input_mtok=rate("input"),
            output_mtok=rate("output"),
            cache_read_mtok=rate("cache_read"),
            cache_write_mtok=rate("cache_write"),
        )


_overrides: dict[str, ModelPrice] = {}
_near_misses: dict[str, str] = {}  # a name genai-prices matched to another model -> that model
_lock = threading.Lock()
_env_loaded = False


def set_price(
    model: str,
    input: float,  # noqa: A002 - the natural name
    output: float,
    *,
    cache_read: float | None = None,
    cache_write: float | None = None,
    tiers: list[Tier] | tuple[Tier, ...] = (),
) -> None:
    """Use these prices (USD per million tokens) for `model` and the snapshots named after it."""
    rates = [input, output, cache_read, cache_write]
    rates += [r for tier in tiers for r in (tier.input, tier.output, tier.cache_read)]
    for rate in rates:  # NaN would price every call as "Invalid price value", after paying
        number = isinstance(rate, Real) and not isinstance(rate, bool)
        if rate is not None and not (number and math.isfinite(rate) and rate >= 0):
            raise PricerError(f"price of {model!r}: {rate!r} is not a finite number >= 0: {rates}")
    price = ModelPrice(
        float(input),
        float(output),
        cache_read=None if cache_read is None else float(cache_read),
        cache_write=None if cache_write is None else float(cache_write),
        tiers=tuple(sorted(tiers, key=lambda tier: tier.above)),
    )
    with _lock:
        _overrides[model] = price


def load_prices(path: str | Path) -> None:
    """Read `{"model": [input, output]}` or `{"model": {"input": x, "output": y, ...}}` (see the
    module's docstring) from a JSON file."""
    path = Path(path)
    try:
        table = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PricerError(f"price table {path}: {error}") from None
    if not isinstance(table, dict):
        raise PricerError(f"price table {path}: expected a JSON object of model -> prices")
    for model, value in table.items():
        try:
            if isinstance(value, dict):
                tiers = [Tier(**tier) for tier in value.get("tiers", [])]
                set_price(
                    model,
                    value["input"],
                    value["output"],
                    cache_read=value.get("cache_read"),
                    cache_write=value.get("cache_write"),
                    tiers=tiers,
                )
            else:
                input_price, output_price = value
                set_price(model, input_price, output_price)
        except PricerError as error:
            raise PricerError(f"price table {path}: {error}") from None
        except (KeyError, TypeError, ValueError) as error:
            raise PricerError(
                f"price table {path}: model {model!r}: expected [input, output] or "
                f'{{"input": x, "output": y, "cache_read": r, "cache_write": w, "tiers": '
                f'[{{"above": n, "input": x2, "output": y2}}]}}, got {value!r} ({error})'
            ) from None


def price_of(
    model: str, provider: str = "openai", base_url: str | None = None
) -> ModelPrice | None:
    """The price of `model` at `provider` (an override first, then genai-prices), or None."""
    priced = _pricing(model, provider, base_url)
    return priced.price if priced is not None else None


def cost(
    model: str,
    input_tokens: int | TokenUsage,
    output_tokens: int = 0,
    *,
    batch: bool = False,
    provider: str = "openai",
    base_url: str | None = None,
    service_tier: str | None = None,
) -> float | None:
    """US dollars for one call (None when the price is unknown), by genai-prices' calculation.

    `input_tokens` may be a whole `TokenUsage` (cached and reasoning tokens too); `batch` asks
    for the batch price; `service_tier` is the tier the reply says it was served at (OpenAI's
    "priority" and "flex" have their own prices).
    """
    usage = (
        input_tokens
        if isinstance(input_tokens, TokenUsage)
        else TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    )
    priced = _pricing(model, provider, base_url)
    if priced is None:
        return None
    return priced.cost(usage, batch=batch, service_tier=service_tier)


def require_price(model: str, provider: str = "openai", base_url: str | None = None) -> ModelPrice:
    """The price of `model`, or an error that says how to give one (for budgets)."""
    price = price_of(model, provider, base_url)
    if price is None:
        other = near_miss(model, provider, base_url)
        nearest = f" (genai-prices' nearest entry is another model, {other})" if other else ""
        raise PricerError(
            f"no price known for {provider} model {model!r}{nearest}, so a budget cannot be "
            "kept: give "
            f"one with pricebench.chat.costs.set_price({model!r}, INPUT, OUTPUT) or a JSON file "
            f'named by ${PRICES_ENV} holding {{"{model}": [INPUT, OUTPUT]}} '
            "(US dollars per million tokens)"
        )
    return price


@dataclass(frozen=True)
class _Pricing:
    """How one model is priced: an override's rates, or genai-prices' entry for it."""

    price: ModelPrice
    model_ref: str | None = None  # set for a model genai-prices lists
    where: tuple[tuple[str, str], ...] = ()
    has_batch_prices: bool = False

    def cost(self, usage: TokenUsage, *, batch: bool, service_tier: str | None = None) -> float:
        if self.model_ref is None:
            dollars = float(self.price.genai().calc_price(usage.genai())["total_price"])
            return dollars * BATCH_DISCOUNT if batch else dollars
        from genai_prices import calc_price

        context = dict(BATCH_CONTEXT) if batch and self.has_batch_prices else {}
        if service_tier:
            context["service_tier"] = service_tier  # genai-prices' variants for tiers
        result = calc_price(  # type: ignore[call-overload]
            usage.genai(),
            model_ref=self.model_ref,
            price_context=context or None,
            **dict(self.where),
        )
        dollars = float(result.total_price)
        return dollars * BATCH_DISCOUNT if batch and not self.has_batch_prices else dollars


def _pricing(model: str, provider: str, base_url: str | None) -> _Pricing | None:
    _load_env_once()
    names = [model]
    if model.startswith("ft:"):
        names.append(f"ft:{base_model(model)}")
    with _lock:
        for name in names:
            if name in _overrides:
                return _Pricing(_overrides[name])
        prefixes = [key for key in _overrides if model.startswith(key)]
        if prefixes:
            return _Pricing(_overrides[max(prefixes, key=len)])
    for name in names:
        listed = _listed(name, provider, base_url)
        if listed is not None:
            return listed
    if model.startswith("ft:"):
        price = _fine_tuned_price(model)
        return _Pricing(price) if price is not None else None
    return None


def same_model(asked: str, listed: str) -> bool:
    """Whether genai-prices' entry `listed` is the model `asked` for: the same id, or one of them
    a dated snapshot or variant named after the other ("gpt-4o-mini-2024-07-18", "gpt-4o-mini")."""
    return asked == listed or asked.startswith(f"{listed}-") or listed.startswith(f"{asked}-")


def near_miss(model: str, provider: str = "openai", base_url: str | None = None) -> str | None:
    """The other model genai-prices would have priced `model` as, when its loose match was
    refused (None when the model has a price of its own, or nothing matched)."""
    if price_of(model, provider, base_url) is not None:
        return None
    with _lock:
        return _near_misses.get(model)


def _fine_tuned_price(model: str) -> ModelPrice | None:
    info = resolve(model, "openai")
    listed = info.family.fine_tuned_prices.get(info.base)
    if listed is None:
        return None
    return ModelPrice(*listed, source=f"pricebench model catalogue ({info.family.source})")


@lru_cache(maxsize=256)
def _listed(model: str, provider: str, base_url: str | None) -> _Pricing | None:
    """genai-prices' entry for `model` (looked up once; each call is priced on its own usage)."""
    from genai_prices import Usage, calc_price

    if provider == "openai-compatible":
        # A server of one's own has no list price; a hosted one (Groq, Together...) is known by
        # its URL. Matching by model name alone would price a local llama at some host's rate.
        if base_url is None:
            return None
        where: dict[str, str] = {"provider_api_url": base_url}
    else:
        where = {"provider_id": provider}
        if base_url is not None:
            where["provider_api_url"] = base_url
    try:
        # The implementation takes provider_id and provider_api_url together (a provider's own
        # API behind a proxy); its overloads admit one at a time.
        result = calc_price(Usage(input_tokens=1), model_ref=model, **where)  # type: ignore[call-overload]
    except LookupError:
        if provider != "openai-compatible" and base_url is not None:
            return _listed(model, provider, None)  # a proxy of the provider's own API
        return None
    if not same_model(model, result.model.id):
        # genai-prices matches names loosely ("gpt-5.1-mini", no model, is its gpt-5.1-codex-mini):
        # another model's prices are no price for this one.
        with _lock:
            _near_misses[model] = result.model.id
        return None
    variants = result.model.price_variants or []
    return _Pricing(
        _summary(result.model_price, f"genai-prices: {result.provider.id}/{result.model.id}"),
        model_ref=model,
        where=tuple(where.items()),
        has_batch_prices=any(v.when == BATCH_CONTEXT for v in variants),
    )


def _summary(prices: Any, source: str) -> ModelPrice:
    """genai-prices' rates for a model as a `ModelPrice` (for display and `require_price`)."""
    from genai_prices.types import TieredPrices

    def base(value: Any) -> float | None:
        if value is None:
            return None
        return float(value.base if isinstance(value, TieredPrices) else value)

    tiers: dict[int, dict[str, float]] = {}
    for name, key in (("input", "input_mtok"), ("output", "output_mtok")):
        value = getattr(prices, key, None)
        if isinstance(value, TieredPrices):
            for tier in value.tiers:
                tiers.setdefault(tier.start, {})[name] = float(tier.price)
    return ModelPrice(
        base(getattr(prices, "input_mtok", None)) or 0.0,
        base(getattr(prices, "output_mtok", None)) or 0.0,
        source=source,
        cache_read=base(getattr(prices, "cache_read_mtok", None)),
        cache_write=base(getattr(prices, "cache_write_mtok", None)),
        tiers=tuple(
            Tier(above, rates.get("input", 0.0), rates.get("output", 0.0))
            for above, rates in sorted(tiers.items())
        ),
    )


def _load_env_once() -> None:
    global _env_loaded
    if _env_loaded:
        return
    if os.environ.get(PRICES_ENV):
        load_prices(os.environ[PRICES_ENV])  # a bad file raises every time, never half-loads
    _env_loaded = True
