"""What a model's tokens cost: US dollars per million input and output tokens.

`PRICES` holds list prices (checked against the providers' pricing pages, 2025); a dated snapshot
("gpt-4o-mini-2024-07-18") or a fine-tune ("ft:gpt-4o-mini-2024-07-18:org::id") takes the price of
the longest name it starts with. Override or add models with `set_price`, or point the
`PRICEBENCH_PRICES` environment variable at a JSON file `{"model": [input, output], ...}`.
An unknown model costs 0.0 with a warning: cost accounting must never stop a run.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from pricebench.errors import PricerError

PRICES_ENV = "PRICEBENCH_PRICES"
BATCH_DISCOUNT = 0.5  # OpenAI's and Anthropic's batch APIs both bill half price


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens."""

    input: float
    output: float


PRICES: dict[str, ModelPrice] = {
    # OpenAI
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "o4-mini": ModelPrice(1.10, 4.40),
    "o3-mini": ModelPrice(1.10, 4.40),
    # OpenAI fine-tuned models (inference)
    "ft:gpt-4o-mini": ModelPrice(0.30, 1.20),
    "ft:gpt-4o": ModelPrice(3.75, 15.00),
    "ft:gpt-4.1": ModelPrice(3.00, 12.00),
    "ft:gpt-4.1-mini": ModelPrice(0.80, 3.20),
    "ft:gpt-4.1-nano": ModelPrice(0.20, 0.80),
    # Anthropic
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-opus-4-5": ModelPrice(5.00, 25.00),
}

_lock = threading.Lock()
_env_lock = threading.Lock()
_env_loaded = False
_warned: set[str] = set()


def set_price(model: str, input: float, output: float) -> None:  # noqa: A002 - the natural name
    """Use these prices (USD per million tokens) for `model` and the snapshots named after it."""
    if input < 0 or output < 0:
        raise PricerError(f"price of {model!r} must not be negative: {input}, {output}")
    with _lock:
        PRICES[model] = ModelPrice(float(input), float(output))


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


def price_of(model: str) -> ModelPrice | None:
    """The price entry for `model`: exact name, else the longest known name it starts with."""
    _load_env_once()
    with _lock:
        if model in PRICES:
            return PRICES[model]
        matches = [name for name in PRICES if model.startswith(name)]
        return PRICES[max(matches, key=len)] if matches else None


def cost(model: str, input_tokens: int, output_tokens: int, *, batch: bool = False) -> float:
    """US dollars for one call; `batch` applies the providers' batch discount."""
    price = price_of(model)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            warnings.warn(
                f"no price known for model {model!r}: its cost counts as $0 "
                f"(add one with pricebench.costs.set_price or ${PRICES_ENV})",
                stacklevel=2,
            )
        return 0.0
    dollars = (input_tokens * price.input + output_tokens * price.output) / 1_000_000
    return dollars * BATCH_DISCOUNT if batch else dollars


def _load_env_once() -> None:
    global _env_loaded
    with _env_lock:
        if _env_loaded:
            return
        if os.environ.get(PRICES_ENV):
            load_prices(os.environ[PRICES_ENV])  # a bad file raises every time, never half-loads
        _env_loaded = True
