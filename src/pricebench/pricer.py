"""The `Pricer` contract, and what a pricer's answer for one item can be.

A pricer is anything with a `name` and `predict(item) -> float`. `BasePricer` spells the contract
out, scikit-learn style, and every built-in pricer follows it; a pricer of one's own may use it or
not. Optional methods, used when present:

- `fit(train_items) -> self`: learn from training items (the CLI calls it on the train split).
  Whether a pricer learns is the `learns` flag (`learns(pricer)`), not the presence of `fit`:
  a chat pricer has a `fit` that only indexes a retrieval context.
- `predict_batch(items) -> list[float]`: faster in bulk (local models); the Tester uses it.
- `estimate_many(items) -> list[Estimate | Exception]`: in bulk with each item's reply and
  tokens, or the error that failed it; the Tester prefers it to `predict_batch`, so a run keeps
  them (`HFPricer`).
- `estimate(item) -> Estimate`: the price plus the reply text, tokens and cost (API pricers).
- `estimate_batch(items, workdir)`: provider batch jobs, for `Tester(mode="batch")`.
- `get_params() -> dict`: the parameters recorded in each run's header.

A plain function `item -> float` (or `item -> str`, parsed with `parse_price`) works wherever a
pricer does: `as_pricer` wraps it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeGuard, runtime_checkable

from pricebench._version import __version__
from pricebench.chat.parse import parse_price
from pricebench.errors import PricerError
from pricebench.items import Item


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
    cached: bool = False  # answered from pricebench's response cache (free)
    # What the reply costs at list price, paid or not: a cached reply's `cost` is 0, its
    # `list_cost` what the model charges for it. None for a pricer that calls no paid API.
    list_cost: float | None = None
    # Prompt tokens read from / written to the provider's prompt cache (part of input_tokens).
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class BatchJobPricer(Pricer, Protocol):
    """A pricer that can run a whole set of items as provider batch jobs.

    `estimate_batch` yields each item's id with its `Estimate` or the exception that failed it, as
    they come back. It keeps whatever it needs to resume (batch ids) under `workdir`.
    """

    def estimate_batch(
        self, items: Sequence[Item], workdir: Path
    ) -> Iterable[tuple[str, Estimate | BaseException]]: ...


class BasePricer:
    """The pricer contract as a base class (scikit-learn's estimator conventions).

    - Parameters are stored as given in `__init__`, under their own names; `get_params` reads
      them back from the constructor's signature, so `clone_pricer` can make a fresh copy.
    - `learns` says whether `fit` learns from training items; `fit` does nothing by default.
    - Learned state goes in attributes ending in `_`, set by `fit`; `check_fitted` refuses to
      predict before them.
    """

    name: str = "pricer"
    learns: ClassVar[bool] = False
    # Parameters that change how a run goes, not its answers: a resumed run may change them.
    resumable_params: ClassVar[frozenset[str]] = frozenset()

    def fit(self, train: Sequence[Item]) -> BasePricer:
        return self

    def predict(self, item: Item) -> float:
        raise NotImplementedError

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor's parameters as stored (`deep` is accepted for scikit-learn)."""
        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def learns(pricer: Any) -> TypeGuard[TrainablePricer]:
    """Whether `pricer` learns from training items: its `learns` flag, else whether it has `fit`
    (a duck-typed pricer of one's own that declares nothing)."""
    flag = getattr(pricer, "learns", None)
    if isinstance(flag, bool):
        return flag
    return callable(getattr(pricer, "fit", None))


def resumable_params(pricer: Any) -> frozenset[str]:
    """The parameters a resumed run of `pricer` may change (its `resumable_params`, else none)."""
    return frozenset(getattr(pricer, "resumable_params", ()))


def check_fitted(pricer: Any, *attributes: str) -> None:
    """PricerError naming the pricer unless it has every learned attribute (`fit` sets them)."""
    missing = [a for a in attributes if not hasattr(pricer, a)]
    if missing:
        name = getattr(pricer, "name", type(pricer).__name__)
        raise PricerError(f"{name}: call fit(train) before predict")


def clone_pricer(pricer: Any) -> Any:
    """An unfitted copy with the same parameters (scikit-learn's `clone`), else a deep copy."""
    from sklearn.base import clone

    if hasattr(pricer, "get_params"):
        try:
            return clone(pricer, safe=True)
        except (TypeError, RuntimeError, ValueError):
            pass  # parameters that do not round-trip through the constructor
    return copy.deepcopy(pricer)


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


def code_identity(pricer: Any) -> str:
    """What code a pricer runs, as a run header records it, so that a run is never resumed (or
    taken as done) by other code under the same name and parameters.

    A pricer of pricebench's own: "pricebench VERSION". One of the user's (a class, a `file.py:
    Class` spec, a plain function, a `functools.partial`, a callable object): "source " + a hash
    of the whole source file that defines it and of every base class outside pricebench (so a
    constant beside the class counts), else of its compiled code when there is no source file
    (a class typed into a console). A pricer made of others (an ensemble) adds their identities.
    Code in other modules that the pricer calls is not part of its identity.
    """
    target = pricer.function if isinstance(pricer, FunctionPricer) else pricer
    parts: list[str] = []
    while isinstance(target, functools.partial):  # the function, and what it was given
        parts.append(repr((target.args, sorted(target.keywords.items()))))
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target)  # a pricer object, or a callable object: its class
    members = [code_identity(m) for m in getattr(pricer, "_pricers", None) or ()]
    if _module_of(target).split(".")[0] == "pricebench" and not parts:
        own = f"pricebench {__version__}"
        if not any(m.startswith("source ") for m in members):
            return own
        parts.append(own)
    digest = hashlib.sha256()
    sources: list[Any] = [target] if not isinstance(target, type) else _own_classes(target)
    for text in [_source(source) for source in sources] + parts + members:
        digest.update(text.encode("utf-8", "surrogatepass"))
    return f"source {digest.hexdigest()[:12]}"


def _module_of(obj: Any) -> str:
    return getattr(obj, "__module__", None) or ""


def _own_classes(cls: type) -> list[type]:
    """`cls` and its base classes that are neither pricebench's nor Python's own."""
    return [
        c
        for c in cls.__mro__
        if _module_of(c).split(".")[0] not in ("pricebench", "builtins", "typing", "abc")
    ]


def _source(obj: Any) -> str:
    """The source file that defines `obj` (a constant beside it is part of its code) with its
    own source (two functions of one file differ), else its compiled code."""
    try:
        whole = Path(inspect.getsourcefile(obj) or "").read_text(encoding="utf-8")
        return whole + "\0" + inspect.getsource(obj)
    except (OSError, TypeError, UnicodeDecodeError):
        pass
    functions = [obj] if not isinstance(obj, type) else list(vars(obj).values())
    codes = [getattr(f, "__code__", None) for f in functions]
    return "\n".join(
        f"{c.co_name}:{c.co_code.hex()}:{c.co_consts!r}" for c in codes if c is not None
    )
