"""Turning spec strings such as "constant" or "openai:gpt-4o-mini" into pricers.

A spec is `NAME`, `NAME:ARG`, or either followed by `:KEY=VALUE` parameters for that pricer only
(`knn:n_neighbors=5`, `openai:gpt-4o-mini:temperature=0.2`). NAME picks a factory; ARG (what is
left after the first colon once the trailing parameters are taken off; it may hold more colons, as
in `ft:gpt-4o-mini:org::id`) is passed as the factory's first argument, and the parameters as
keyword arguments (a VALUE that reads as JSON, such as 3, true or [1, 2], is taken as JSON).

Built-in factories are imported only when used, so `import pricebench` stays light. Other packages
add pricers through the entry-point group `pricebench.pricers` (name = spec NAME, value = factory).
A pricer of your own needs no package: `path/to/mine.py:MyPricer` loads the class (or function)
`MyPricer` from that file, and `module:MyPricer` from an importable module. A bare model name is
understood: `gpt-4o-mini` (and `o1`, `o3`, `o4`, `chatgpt` models) is `openai:gpt-4o-mini`,
`claude-...` is `anthropic:claude-...`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from pricebench.errors import PricebenchError, SpecError, missing_extra
from pricebench.pricer import Pricer, as_pricer

ENTRY_POINT_GROUP = "pricebench.pricers"

# NAME -> "module:attribute", imported on first use.
_BUILTIN: dict[str, str] = {
    "constant": "pricebench.local.baselines:ConstantPricer",
    "random": "pricebench.local.baselines:RandomPricer",
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
    "ensemble": "pricebench.local.ensemble:ensemble_from_spec",
    "openai": "pricebench.chat.openai:OpenAIPricer",
    "openai-compatible": "pricebench.chat.openai:openai_compatible",
    "anthropic": "pricebench.chat.anthropic:AnthropicPricer",
    "ft": "pricebench.finetune:fine_tuned_pricer",
    "hf": "pricebench.hf:hf_pricer",
    "human": "pricebench.local.human:HumanPricer",
}

# NAME -> (how to write it, what it is), for `pricebench pricers`.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "constant": ("constant", "the mean training price; constant:median for the median"),
    "random": ("random", "a seeded random whole-dollar guess in 1..999 (the course's first)"),
    "feature-lr": (
        "feature-lr",
        "linear regression on weight, sales rank, text length, brand (course)",
    ),
    "bow-lr": ("bow-lr", "linear regression on a bag of words (course)"),
    "w2v-lr": ("w2v-lr", "linear regression on document vectors (course's word2vec)"),
    "svr": ("svr", "linear support vector regression on document vectors (course)"),
    "random-forest": ("random-forest", "random forest on document vectors (course)"),
    "gbm": ("gbm", "gradient boosting on document vectors and numbers (course's XGBoost)"),
    "nn": ("nn", "a small neural network on document vectors and numbers"),
    "tfidf-ridge": ("tfidf-ridge", "ridge regression on word and character TF-IDF and numbers"),
    "tfidf-svr": ("tfidf-svr", "linear SVR on word and character TF-IDF"),
    "knn": ("knn", "prices of the most similar training items"),
    "local-best": (
        "local-best",
        "the best local pricer: tfidf-ridge, tfidf-svr and knn blended (stacked)",
    ),
    "ensemble": ("ensemble:A+B[+C...]", "stacks the guesses of other pricer specs"),
    "openai": ("openai:MODEL", "an OpenAI chat model (OPENAI_API_KEY); `gpt-4o-mini` alone works"),
    "openai-compatible": ("openai-compatible:MODEL@URL", "an OpenAI-compatible server (Ollama...)"),
    "anthropic": (
        "anthropic:MODEL",
        "a Claude model (ANTHROPIC_API_KEY); `claude-...` works",
    ),
    "human": ("human:SHEET.csv", "your guesses from a sheet (`pricebench play --export`)"),
    "ft": ("ft:MODEL_ID", "an OpenAI fine-tuned model, e.g. ft:gpt-4.1-mini-2025-04-14:org::id"),
    "hf": ("hf:MODEL[+ADAPTER]", "a local Hugging Face model, base or LoRA fine-tuned (extra hf)"),
}
# Ways to name a pricer that are not a NAME, for `pricebench pricers`.
OTHER_SYNTAX: tuple[tuple[str, str], ...] = (
    ("SPEC:KEY=VALUE", "a parameter for that pricer only (repeat: knn:n_neighbors=5:power=1)"),
    ("FILE.py:CLASS", "a pricer class (or function) of your own, from a Python file"),
    ("MODULE:CLASS", "a pricer class (or function) from an importable module"),
)

_registered: dict[str, Callable[..., Pricer]] = {}
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*=")
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt|o[134](-|$))")


@dataclass(frozen=True)
class Spec:
    """A spec taken apart. `kind`: "name" (built-in, registered, entry point), "file", "module"."""

    text: str
    name: str
    arg: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "name"

    @property
    def label(self) -> str:
        """The spec as the user wrote it, with a file path cut to the file's name."""
        if self.kind == "file":
            return self.text.replace(self.name, Path(self.name).name, 1)
        return self.text


def register(name: str, factory: Callable[..., Pricer]) -> None:
    """Make `name` (and `name:ARG`) a spec that `make_pricer` understands."""
    _registered[name] = factory


def available() -> list[str]:
    """Every spec name known now: built-in, registered and from installed entry points."""
    names = set(_BUILTIN) | set(_registered)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def describe() -> list[tuple[str, str]]:
    """(how to write it, what it is) for every known spec name, then the other spec forms."""
    rows = []
    for name in available():
        if name in DESCRIPTIONS:
            rows.append(DESCRIPTIONS[name])
            continue
        try:
            doc = inspect.getdoc(_factory(name)) or ""
        except Exception:  # a broken plugin still gets listed
            doc = ""
        rows.append((name, doc.strip().splitlines()[0] if doc.strip() else "(no description)"))
    return rows + list(OTHER_SYNTAX)


# Providers whose models may be written PROVIDER/MODEL, as inspect_ai and litellm write them.
_SLASHED = ("openai", "anthropic")


def parse_spec(spec: str) -> Spec:
    """Take a spec apart (name, argument, its own parameters) without importing anything."""
    text = spec.strip()
    if not text:
        raise SpecError("empty pricer spec; see `pricebench pricers`")
    parts = text.split(":")
    params: dict[str, Any] = {}
    while len(parts) > 1 and _PARAM.match(parts[-1]):
        key, _, value = parts.pop().partition("=")
        params = {key.replace("-", "_"): _value(value), **params}
    name, arg = parts[0].strip(), ":".join(parts[1:])
    provider, slash, model = name.partition("/")
    if slash and provider in _SLASHED and model:
        # "openai/gpt-5.4-mini", as inspect_ai and litellm write a model
        return Spec(text, provider, ":".join([model, *parts[1:]]), params)
    known = set(available())
    if name in known:
        return Spec(text, name, arg, params)
    if name.endswith(".py"):
        return Spec(text, name, arg, params, kind="file")
    if _OPENAI_MODEL.match(name):
        return Spec(text, "openai", ":".join(parts), params)
    if name.startswith("claude-"):
        return Spec(text, "anthropic", ":".join(parts), params)
    importable = arg and re.fullmatch(r"[A-Za-z_][\w.]*", name) and arg.isidentifier()
    if importable and importlib.util.find_spec(name.partition(".")[0]) is not None:
        return Spec(text, name, arg, params, kind="module")
    raise SpecError(_unknown(name, known))


def make_pricer(spec: str, **options: Any) -> Pricer:
    """The pricer a spec names. `options` go to its factory as keyword arguments; the spec's own
    `:KEY=VALUE` parameters win over them."""
    parsed = parse_spec(spec)
    options = {**options, **parsed.params}
    if parsed.kind == "name":
        factory = _factory(parsed.name)
        args: tuple[str, ...] = (parsed.arg,) if parsed.arg else ()
    else:
        factory = _from_code(parsed)
        args = ()
    if not inspect.isclass(factory) and parsed.kind != "name":
        if options:
            raise SpecError(
                f"pricer spec {spec!r}: {parsed.arg} is a function: it takes no options"
            )
        return as_pricer(factory, name=parsed.arg)
    try:  # check the arguments first, so a TypeError inside the factory is not misreported
        inspect.signature(factory).bind(*args, **options)
    except TypeError as error:
        hint = ""
        if "unexpected keyword" in str(error) and not parsed.params:
            hint = " (to give an option to one pricer only, write it in its spec: SPEC:KEY=VALUE)"
        raise SpecError(f"pricer spec {spec!r}: {error}{hint}") from None
    except ValueError:  # no signature to check (a builtin): let the call decide
        pass
    check_option_types(factory, spec, options)
    try:
        pricer = factory(*args, **options)
    except ModuleNotFoundError as error:
        raise missing_extra(error, spec) from None
    except PricebenchError:
        raise
    except Exception as error:  # a constructor's complaint, in one line
        raise SpecError(f"pricer spec {spec!r}: {type(error).__name__}: {error}") from None
    return as_pricer(pricer) if parsed.kind != "name" else pricer


_SIMPLE_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "None": type(None)}
_WANTED = {"int": "a whole number", "float": "a finite number", "bool": "true or false",
           "str": "text", "None": "null"}  # fmt: skip


def check_option_types(factory: Any, spec: str, options: dict[str, Any]) -> None:
    """Refuse an option whose value is not of the simple type the factory declares for it
    (`n_neighbors: int` given "abc", `power: float` given NaN), before anything is built.
    Options declared with other types (paths, prompts, objects) are left to the factory."""
    function = factory.__init__ if inspect.isclass(factory) else factory
    try:
        declared = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return
    for key, value in options.items():
        parameter = declared.get(key)
        hint = parameter.annotation if parameter is not None else inspect.Parameter.empty
        if not isinstance(hint, str):  # annotations are text here (from __future__)
            continue
        names = [name.strip() for name in hint.split("|")]
        if not all(name in _SIMPLE_TYPES for name in names):
            continue
        if not any(_is(value, _SIMPLE_TYPES[name]) for name in names):
            wanted = " or ".join(_WANTED[name] for name in names)
            raise SpecError(f"pricer spec {spec!r}: {key} must be {wanted}, got {value!r}")


def _is(value: Any, kind: type) -> bool:
    if kind is float:  # a whole number is a float too; NaN and infinity are no option value
        ok = isinstance(value, Real) and not isinstance(value, bool)
        return ok and math.isfinite(value)
    if kind is int:
        return isinstance(value, Integral) and not isinstance(value, bool)
    return isinstance(value, kind)


def accepts(spec: str, option: str) -> bool:
    """Whether the pricer a spec names takes the keyword `option` (e.g. `cache`)."""
    parsed = parse_spec(spec)
    factory = _factory(parsed.name) if parsed.kind == "name" else _from_code(parsed)
    # A class whose __init__ passes **options on to its base class's takes those too.
    callables = (
        [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
        if inspect.isclass(factory)
        else [factory]
    )
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


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _unknown(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.7)
    if close:
        return f"unknown pricer {name!r}; did you mean {' or '.join(map(repr, close))}?"
    return (
        f"unknown pricer {name!r}; known pricers: {', '.join(sorted(known))}; "
        "or your own as FILE.py:CLASS or MODULE:CLASS (see `pricebench pricers`)"
    )


def _factory(name: str) -> Callable[..., Pricer]:
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN:
        module, _, attribute = _BUILTIN[name].partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except ModuleNotFoundError as error:
            raise missing_extra(error, f"the {name} pricer") from None
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except ModuleNotFoundError as error:
                raise missing_extra(error, f"the {name} pricer") from None
    raise SpecError(_unknown(name, set(available())))


def _from_code(spec: Spec) -> Any:
    """The class or function `spec.arg` of a Python file or importable module."""
    if not spec.arg.isidentifier():
        raise SpecError(
            f"pricer spec {spec.text!r}: name a class after the colon, as in FILE.py:MyPricer"
        )
    if spec.kind == "file":
        module = _load_file(Path(spec.name))
        where = spec.name
    else:
        try:
            module = importlib.import_module(spec.name)
        except ModuleNotFoundError as error:
            raise (
                missing_extra(error, spec.text)
                if error.name != spec.name
                else SpecError(f"pricer spec {spec.text!r}: no module named {spec.name!r}")
            ) from None
        where = f"module {spec.name}"
    try:
        return getattr(module, spec.arg)
    except AttributeError:
        found = [n for n, v in vars(module).items() if inspect.isclass(v) and hasattr(v, "predict")]
        hint = f" (pricer classes there: {', '.join(found)})" if found else ""
        raise SpecError(f"{where}: no {spec.arg!r} defined{hint}") from None


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    resolved = path.resolve()
    # Named by path and content: a file edited since it was loaded is loaded again, not reused.
    key = hashlib.sha1(str(resolved).encode() + b"\0" + resolved.read_bytes()).hexdigest()
    module_name = "pricebench_user_" + key[:12]
    if module_name in sys.modules:
        return sys.modules[module_name]
    loaded = importlib.util.spec_from_file_location(module_name, resolved)
    if loaded is None or loaded.loader is None:
        raise SpecError(f"{path}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(loaded)
    sys.modules[module_name] = module  # pickling, dataclasses and typing look modules up here
    # Its folder on the import path, as `python file.py` has it: a helper module beside it loads.
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        loaded.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[module_name]
        raise SpecError(f"{path}, line {error.lineno}: syntax error: {error.msg}") from None
    except ModuleNotFoundError as error:
        del sys.modules[module_name]
        raise SpecError(f"{path}: imports a module that is not installed: {error.name}") from None
    except Exception as error:
        del sys.modules[module_name]
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(resolved)
        ]
        line = f", line {frames[-1].lineno}" if frames else ""
        raise SpecError(f"{path}{line}: {type(error).__name__}: {error}") from None
    return module
