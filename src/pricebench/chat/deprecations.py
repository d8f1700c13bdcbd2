"""What the installed provider SDKs' own types say of models: shutdown dates, and the models
served by OpenAI's Responses API only.

Responses-only models are the names openai's `ResponsesModel` type lists beyond `ChatModel`
(`types/shared/responses_model.py`: o3-deep-research, gpt-5-codex, gpt-6-cyber...), read as text
like the tables below, so an SDK upgrade that adds one sends it to the Responses API at once.

Shutdown dates:

The openai SDK lists announced shutdown dates under its `ChatModel` type ("Deprecated values:
- "gpt-5", "gpt-5-mini", ...: Announced shutdown date: 2026-12-11."), and the anthropic SDK keeps
`DEPRECATED_MODELS` (`{"claude-opus-4-5": "January 22nd, 2027"}`). Both are read as text, without
importing the SDKs, so an SDK upgrade updates the dates and `pricebench models` still works where
no SDK is installed (the catalogue's own dates, from the same tables when it was checked, stand
in). A model neither table names keeps the catalogue's date.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path

# The files, relative to each package, that hold the tables.
OPENAI_TABLE = "types/shared/chat_model.py"
OPENAI_RESPONSES = "types/shared/responses_model.py"
ANTHROPIC_TABLE = "_data/deprecated_models.py"

_OPENAI_ENTRY = re.compile(
    r"^- (?P<names>(?:\"[^\"]+\",?\s*)+):"
    r"\s*Announced\s+shutdown\s+date:\s*(?P<date>\d{4}-\d{2}-\d{2})",
    re.MULTILINE,
)
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b")


def sdk_shutdown(provider: str, model: str) -> tuple[date, str] | None:
    """The shutdown date of `model` at `provider` in that provider's installed SDK, with the
    table it came from; None when the SDK is not installed or does not name the model."""
    return sdk_shutdowns().get((provider, model))


@cache
def sdk_shutdowns() -> dict[tuple[str, str], tuple[date, str]]:
    """(provider, model id) -> (shutdown date, which SDK says so), from the SDKs installed here."""
    found: dict[tuple[str, str], tuple[date, str]] = {}
    for name, parse in (("openai", _openai_dates), ("anthropic", _anthropic_dates)):
        path = _package_file(name, OPENAI_TABLE if name == "openai" else ANTHROPIC_TABLE)
        if path is None:
            continue
        source = f"{name} SDK {_version(name)} deprecation table"
        for model, day in parse(path.read_text(encoding="utf-8")).items():
            found[(name, model)] = (day, source)
    return found


@cache
def responses_only_models() -> frozenset[str]:
    """The model ids the installed openai SDK types as served by the Responses API only (empty
    where no SDK is installed: the catalogue's rows stand in)."""
    path = _package_file("openai", OPENAI_RESPONSES)
    if path is None:
        return frozenset()
    text = path.read_text(encoding="utf-8")
    # `ResponsesModel = Union[str, ChatModel, Literal["o1-pro", ...]]`: the Literal's names.
    match = re.search(r"Literal\[(.*?)\]", text, re.DOTALL)
    return frozenset(re.findall(r"\"([^\"]+)\"", match.group(1))) if match else frozenset()


def _openai_dates(text: str) -> dict[str, date]:
    dates: dict[str, date] = {}
    for entry in _OPENAI_ENTRY.finditer(text):
        day = date.fromisoformat(entry.group("date"))
        for model in re.findall(r"\"([^\"]+)\"", entry.group("names")):
            dates[model] = day
    return dates


def _anthropic_dates(text: str) -> dict[str, date]:
    match = re.search(r"DEPRECATED_MODELS[^=]*=\s*(\{.*?\})", text, re.DOTALL)
    if match is None:
        return {}
    try:
        table = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return {}
    dates: dict[str, date] = {}
    for model, when in table.items():
        try:
            dates[model] = datetime.strptime(_ORDINAL.sub(r"\1", when), "%B %d, %Y").date()
        except (TypeError, ValueError):
            continue  # a form this reader does not know: the catalogue's date stands
    return dates


def _package_file(package: str, relative: str) -> Path | None:
    """A file inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
