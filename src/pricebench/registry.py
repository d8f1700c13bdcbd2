"""Turning spec strings such as "constant" or "openai:gpt-4o-mini" into pricers.

A spec is `NAME` or `NAME:ARG`. NAME picks a factory; ARG (everything after the first colon, which
may hold more colons, as in `ft:gpt-4o-mini:org::id`) is passed as the factory's first argument.
Built-in factories are imported only when used, so `import pricebench` stays light. Other packages
add pricers through the entry-point group `pricebench.pricers` (name = spec NAME, value = factory).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from pricebench.errors import SpecError
from pricebench.pricer import Pricer

ENTRY_POINT_GROUP = "pricebench.pricers"

# NAME -> "module:attribute", imported on first use.
_BUILTIN: dict[str, str] = {
    "constant": "pricebench.baselines:ConstantPricer",
    "random": "pricebench.baselines:RandomPricer",
    "feature-lr": "pricebench.local.course:FeatureLR",
    "bow-lr": "pricebench.local.course:BowLR",
    "w2v-lr": "pricebench.local.course:VectorLR",
    "svr": "pricebench.local.course:VectorSVR",
    "random-forest": "pricebench.local.course:RandomForestPricer",
    "gbm": "pricebench.local.course:GBMPricer",
    "nn": "pricebench.local.course:NNPricer",
    "tfidf-ridge": "pricebench.local.strong:TfidfRidge",
    "tfidf-svr": "pricebench.local.strong:TfidfSVR",
    "knn": "pricebench.local.strong:NeighbourPrices",
    "local-best": "pricebench.local.strong:LocalBest",
    "ensemble": "pricebench.ensemble:ensemble_from_spec",
    "openai": "pricebench.providers.openai:OpenAIPricer",
    "openai-compatible": "pricebench.providers.openai:openai_compatible",
    "anthropic": "pricebench.providers.anthropic:AnthropicPricer",
    "ft": "pricebench.finetune:fine_tuned_pricer",
    "hf": "pricebench.hf:hf_pricer",
}
_registered: dict[str, Callable[..., Pricer]] = {}


def register(name: str, factory: Callable[..., Pricer]) -> None:
    """Make `name` (and `name:ARG`) a spec that `make_pricer` understands."""
    _registered[name] = factory


def available() -> list[str]:
    """Every spec name known now: built-in, registered and from installed entry points."""
    names = set(_BUILTIN) | set(_registered)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def make_pricer(spec: str, **options: Any) -> Pricer:
    """The pricer a spec names. `options` go to its factory as keyword arguments."""
    name, _, arg = spec.partition(":")
    factory = _factory(name.strip())
    args = (arg,) if arg else ()
    try:  # check the arguments first, so a TypeError inside the factory is not misreported
        inspect.signature(factory).bind(*args, **options)
    except TypeError as error:
        raise SpecError(f"pricer spec {spec!r}: {error}") from None
    except ValueError:  # no signature to check (a builtin): let the call decide
        pass
    return factory(*args, **options)


def accepts(spec: str, option: str) -> bool:
    """Whether the pricer a spec names takes the keyword `option` (e.g. `cache`)."""
    factory = _factory(spec.partition(":")[0].strip())
    # A class whose __init__ passes **options on to its base class's takes those too.
    callables = [c.__init__ for c in factory.__mro__] if inspect.isclass(factory) else [factory]
    for function in callables:
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return False
        if option in parameters:  # named, not swallowed by **options, on purpose
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return False
    return False


def _factory(name: str) -> Callable[..., Pricer]:
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN:
        module, _, attribute = _BUILTIN[name].partition(":")
        return getattr(importlib.import_module(module), attribute)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    raise SpecError(f"unknown pricer {name!r}; known pricers: {', '.join(available())}")
