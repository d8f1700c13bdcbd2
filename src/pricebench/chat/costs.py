"""What a model's tokens cost: US dollars per million input and output tokens.

Prices come from `genai-prices`, the price list that Pydantic keeps current for every major
provider, so a new model is priced when that package learns it rather than when someone edits a
table here. On top of it, `set_price` or a JSON file named by `$PRICEBENCH_PRICES`
(`{"model": [input, output]}`) overrides or adds models; an override for a name also covers the
snapshots and fine-tunes named after it. A fine-tune (`ft:BASE:org::id`) is priced as its base
model's fine-tune. A model with no known price costs `None` ("unknown"), never $0: a budget on
such a model is refused before the first call (see `require_price`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pricebench.chat.models import base_model, resolve
from pricebench.errors import PricerError

PRICES_ENV = "PRICEBENCH_PRICES"
BATCH_DISCOUNT = 0.5  # OpenAI's and Anthropic's batch APIs both bill half price


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens, and where the figures came from."""

    input: float
    output: float
    source: str = "override"


_overrides: dict[str, ModelPrice] = {}
_lock = threading.Lock()
_env_loaded = False


def set_price(model: str, input: float, output: float) -> None:  # noqa: A002 - the natural name
    """Use these prices (USD per million tokens) for `model` and the snapshots named after it."""
    if input < 0 or output < 0:
        raise PricerError(f"price of {model!r} must not be negative: {input}, {output}")
    with _lock:
        _overrides[model] = ModelPrice(float(input), float(output))


def load_prices(path: str | Path) -> None:
    """Read `{"model": [input, output]}` (or `{"model": {"input": x, "output": y}}`) from JSON."""
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
                set_price(model, value["input"], value["output"])
            else:
                input_price, output_price = value
                set_price(model, input_price, output_price)
        except (KeyError, TypeError, ValueError) as error:
            raise PricerError(
                f"price table {path}: model {model!r}: expected [input, output], got {value!r} "
                f"({error})"
            ) from None


def price_of(
    model: str, provider: str = "openai", base_url: str | None = None
) -> ModelPrice | None:
    """The price of `model` at `provider` (an override first, then genai-prices), or None."""
    _load_env_once()
    names = [model]
    if model.startswith("ft:"):
        names.append(f"ft:{base_model(model)}")
    with _lock:
        for name in names:
            if name in _overrides:
                return _overrides[name]
        prefixes = [key for key in _overrides if model.startswith(key)]
        if prefixes:
            return _overrides[max(prefixes, key=len)]
    for name in names:
        price = _listed_price(name, provider, base_url)
        if price is not None:
            return price
    if model.startswith("ft:"):
        return _fine_tuned_price(model)
    return None


def _fine_tuned_price(model: str) -> ModelPrice | None:
    info = resolve(model, "openai")
    listed = info.family.fine_tuned_prices.get(info.base)
    if listed is None:
        return None
    return ModelPrice(*listed, source=f"pricebench model catalogue ({info.family.source})")


def cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    batch: bool = False,
    provider: str = "openai",
    base_url: str | None = None,
) -> float | None:
    """US dollars for one call (None when the price is unknown); `batch` halves it."""
    price = price_of(model, provider, base_url)
    if price is None:
        return None
    dollars = (input_tokens * price.input + output_tokens * price.output) / 1_000_000
    return dollars * BATCH_DISCOUNT if batch else dollars


def require_price(model: str, provider: str = "openai", base_url: str | None = None) -> ModelPrice:
    """The price of `model`, or an error that says how to give one (for budgets)."""
    price = price_of(model, provider, base_url)
    if price is None:
        raise PricerError(
            f"no price known for {provider} model {model!r}, so a budget cannot be kept: give "
            f"one with pricebench.chat.costs.set_price({model!r}, INPUT, OUTPUT) or a JSON file "
            f'named by ${PRICES_ENV} holding {{"{model}": [INPUT, OUTPUT]}} '
            "(US dollars per million tokens)"
        )
    return price


@lru_cache(maxsize=256)
def _listed_price(model: str, provider: str, base_url: str | None) -> ModelPrice | None:
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
    million = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    try:
        # The implementation takes provider_id and provider_api_url together (a provider's own
        # API behind a proxy); its overloads admit one at a time.
        result = calc_price(million, model_ref=model, **where)  # type: ignore[call-overload]
    except LookupError:
        if provider != "openai-compatible" and base_url is not None:
            return _listed_price(model, provider, None)  # a proxy of the provider's own API
        return None
    return ModelPrice(
        float(result.input_price),
        float(result.output_price),
        source=f"genai-prices: {result.provider.id}/{result.model.id}",
    )


def _load_env_once() -> None:
    global _env_loaded
    if _env_loaded:
        return
    if os.environ.get(PRICES_ENV):
        load_prices(os.environ[PRICES_ENV])  # a bad file raises every time, never half-loads
    _env_loaded = True
