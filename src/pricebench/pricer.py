"""The `Pricer` protocol, and what a pricer's answer for one item can be.

A pricer is anything with a `name` and `predict(item) -> float`. Optional methods, used when
present:

- `fit(train_items) -> self`: learn from training items (the CLI calls it on the train split).
- `predict_batch(items) -> list[float]`: faster in bulk (local models); the Tester uses it.
- `estimate(item) -> Estimate`: the price plus the reply text, tokens and cost (API pricers).
- `batch_estimates(items, workdir)`: provider batch jobs, for `Tester(mode="batch")`.
- `get_params() -> dict`: the parameters recorded in each run's header.

A plain function `item -> float` (or `item -> str`, parsed with `parse_price`) works wherever a
pricer does: `as_pricer` wraps it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.parse import parse_price


@runtime_checkable
class Pricer(Protocol):
    """Estimates an item's price from its text."""

    name: str

    def predict(self, item: Item) -> float: ...


@runtime_checkable
class TrainablePricer(Pricer, Protocol):
    """A pricer that learns from training items before it predicts."""

    def fit(self, train: Sequence[Item]) -> TrainablePricer: ...


@runtime_checkable
class BatchPricer(Pricer, Protocol):
    """A pricer that is faster when it prices many items at once."""

    def predict_batch(self, items: Sequence[Item]) -> Sequence[float]: ...


@dataclass(frozen=True)
class Estimate:
    """One item's answer with what it cost. `reply` is the raw text a model sent, if any."""

    price: float
    reply: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # in US dollars; None when the model's price is unknown
    cached: bool = False


class BatchJobPricer(Pricer, Protocol):
    """A pricer that can run a whole set of items as provider batch jobs.

    `batch_estimates` yields each item's id with its `Estimate` or the exception that failed it, as
    they come back. It keeps whatever it needs to resume (batch ids) under `workdir`.
    """

    def batch_estimates(
        self, items: Sequence[Item], workdir: Path
    ) -> Iterable[tuple[str, Estimate | BaseException]]: ...


class FunctionPricer:
    """Wraps a plain function `item -> float | str` so it can be used as a pricer."""

    def __init__(self, function: Callable[[Item], Any], name: str | None = None) -> None:
        self.function = function
        self.name = name or getattr(function, "__name__", None) or type(function).__name__

    def predict(self, item: Item) -> float:
        return to_estimate(self.function(item)).price

    def estimate(self, item: Item) -> Estimate:
        return to_estimate(self.function(item))

    def __repr__(self) -> str:
        return f"FunctionPricer({self.name})"


def as_pricer(obj: Pricer | Callable[[Item], Any], name: str | None = None) -> Pricer:
    """`obj` itself when it is a pricer; a `FunctionPricer` when it is a plain function."""
    if hasattr(obj, "predict"):
        if not isinstance(getattr(obj, "name", None), str):
            raise PricerError(f"{obj!r} has predict() but no 'name' string attribute")
        return obj  # type: ignore[return-value]
    if callable(obj):
        return FunctionPricer(obj, name)
    raise PricerError(f"{obj!r} is neither a pricer (with predict) nor a function")


def to_estimate(value: Any) -> Estimate:
    """A pricer's answer as an `Estimate`: numbers pass, text is parsed, anything else fails."""
    if isinstance(value, Estimate):
        estimate = value
    elif isinstance(value, str):
        estimate = Estimate(price=parse_price(value), reply=value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        estimate = Estimate(price=float(value))
    else:
        raise TypeError(f"pricer returned {type(value).__name__} {value!r}, not a price")
    if not math.isfinite(estimate.price):
        raise ValueError(f"pricer returned a non-finite price ({estimate.price})")
    return estimate


def estimate_one(pricer: Pricer, item: Item) -> Estimate:
    """Ask a pricer about one item, using its richest method."""
    estimate = getattr(pricer, "estimate", None)
    if estimate is not None:
        return to_estimate(estimate(item))
    return to_estimate(pricer.predict(item))


def pricer_params(pricer: Pricer) -> dict[str, Any]:
    """The pricer's parameters for the run header (never secrets: pricers must not return keys)."""
    get_params = getattr(pricer, "get_params", None)
    if get_params is None:
        return {}
    try:
        params = get_params()
    except TypeError:  # scikit-learn's get_params(deep=True) on a class, for instance
        return {}
    return {key: _plain(value) for key, value in params.items()}


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a parameter value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)
