"""Curation rules: one raw Amazon Reviews 2023 record -> one item, or the reason it was dropped.

The rules follow the course's week-6 curation (price range, scrubbed details, no part numbers,
enough text, ~160 tokens) and live in a versioned `CurationConfig`, so that a dataset records which
rules made it.
Nothing here reads files: `pricebench.pipeline.stream` fans these functions out over a file.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pricebench.units import parse_weight

# Why a record was dropped (or "kept"). Every one of these is counted in the manifest.
KEPT = "kept"
BLANK_LINE = "blank_line"
BROKEN_JSON = "broken_json"
INVALID_UTF8 = "invalid_utf8"
NOT_AN_OBJECT = "not_an_object"
MISSING_PRICE = "missing_price"
PRICE_DOLLAR_STRING = "price_dollar_string"  # only a rejection when accept_dollar_strings is off
NON_NUMERIC_PRICE = "non_numeric_price"
PRICE_OUT_OF_RANGE = "price_out_of_range"
MISSING_TITLE = "missing_title"
TOO_LITTLE_TEXT = "too_little_text"
OUTCOMES = (
    KEPT,
    BLANK_LINE,
    BROKEN_JSON,
    INVALID_UTF8,
    NOT_AN_OBJECT,
    MISSING_PRICE,
    PRICE_DOLLAR_STRING,
    NON_NUMERIC_PRICE,
    PRICE_OUT_OF_RANGE,
    MISSING_TITLE,
    TOO_LITTLE_TEXT,
)

# Things worth knowing about kept records (counted too, never a reason to drop).
NOTE_PRICE_FROM_STRING = "price_from_string"
NOTE_DETAILS_AS_STRING = "details_as_json_string"
NOTE_BAD_DETAILS = "details_unreadable"
NOTE_WEIGHT_UNREADABLE = "weight_unreadable"
NOTE_TEXT_CAPPED = "text_capped"

CONFIG_VERSION = 1


class CurationConfig(BaseModel):
    """The rules that turn raw records into items. Saved in every dataset's manifest.

    `version` is the version of this schema of rules: a change in what a field means bumps it.
    `name` labels a rule set (the defaults are `course-2024`: the course's 2024 curation).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = CONFIG_VERSION
    name: str = "course-2024"
    min_price: float = Field(0.5, gt=0, description="lowest price kept, dollars")
    max_price: float = Field(999.49, gt=0, description="highest price kept, dollars")
    accept_dollar_strings: bool = Field(
        True, description='read "$1,299.99" as 1299.99 (else drop it as price_dollar_string)'
    )
    drop_detail_keys: tuple[str, ...] = Field(
        (
            "Part Number",
            "Manufacturer Part Number",
            "Item model number",
            "Model Number",
            "Best Sellers Rank",
            "Batteries Included?",
            "Batteries Required?",
            "Date First Available",
            "Is Discontinued By Manufacturer",
            "UPC",
            "ASIN",
        ),
        description="details keys left out of the text (boilerplate, identifiers)",
    )
    part_number_rule: Literal["digits", "upper-alnum", "off"] = Field(
        "digits",
        description="drop part-number-like words: `digits` = words of `part_number_min_len`+ "
        "characters holding a digit (2024 course); `upper-alnum` = upper-case letter+digit codes "
        "of that length (2025 course)",
    )
    part_number_min_len: int = Field(7, ge=2)
    max_chars_each: int = Field(3000, gt=0, description="cap on description, features, details")
    max_chars: int = Field(
        1120, gt=0, description="cap on the whole text before the token cap (160 tokens x 7)"
    )
    min_chars: int = Field(300, ge=0, description="drop items whose scrubbed text is shorter")
    max_tokens: int | None = Field(
        160, gt=0, description="cut the text after this many approximate tokens (None: no cut)"
    )
    min_tokens: int = Field(0, ge=0, description="drop items with fewer approximate tokens")
    include_details: bool = True

    @model_validator(mode="after")
    def _range_is_ordered(self) -> CurationConfig:
        if self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self

    @classmethod
    def preset(cls, name: str) -> CurationConfig:
        """`course-2024` (the default) or `course-2025` (longer text, no token cut)."""
        if name == "course-2024":
            return cls()
        if name == "course-2025":
            return cls(
                name="course-2025",
                part_number_rule="upper-alnum",
                max_chars=4000,
                min_chars=600,
                max_tokens=None,
            )
        raise ValueError(f"unknown curation preset {name!r} (known: course-2024, course-2025)")


class Rejected(Exception):  # noqa: N818 - a verdict, not a failure
    """A record that curation drops; `kind` is one of OUTCOMES."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- prices -------------------------------------------------------------------------------------

_PRICE_STRING = re.compile(r"(?:US\s*)?\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_NULL_STRINGS = frozenset({"", "none", "null", "nan", "n/a", "-", "—"})


def parse_record_price(value: Any, *, accept_dollar_strings: bool = True) -> tuple[float, bool]:
    """A raw price as (dollars, came_from_a_string). Raises `Rejected` when there is none.

    Raw files hold floats or null; the `datasets` loader turned them into strings ("None",
    "12.99"), and shops write "$1,299.99". A range ("$5 - $9") or words are not a price.
    """
    if value is None:
        raise Rejected(MISSING_PRICE)
    if isinstance(value, bool):
        raise Rejected(NON_NUMERIC_PRICE)
    if isinstance(value, int | float):
        price = float(value)
        if not math.isfinite(price):
            raise Rejected(NON_NUMERIC_PRICE)
        return price, False
    if not isinstance(value, str):
        raise Rejected(NON_NUMERIC_PRICE)
    text = value.strip()
    if text.lower() in _NULL_STRINGS:
        raise Rejected(MISSING_PRICE)
    match = _PRICE_STRING.fullmatch(text)
    if match is None:
        raise Rejected(NON_NUMERIC_PRICE)
    if "$" in text and not accept_dollar_strings:
        raise Rejected(PRICE_DOLLAR_STRING)
    return float(match.group(1).replace(",", "") + (match.group(2) or "")), True


# --- weight -------------------------------------------------------------------------------------


def weight_from_details(details: Mapping[str, Any]) -> tuple[float | None, bool]:
    """(pounds, unreadable): "Item Weight", else the weight after ";" in a dimensions field."""
    raw = details.get("Item Weight")
    if isinstance(raw, str) and raw.strip():
        weight = parse_weight(raw)
        return weight, weight is None
    for key in ("Package Dimensions", "Product Dimensions", "Item Package Dimensions L x W x H"):
        dims = details.get(key)
        if isinstance(dims, str) and ";" in dims:
            return parse_weight(dims.rsplit(";", 1)[1]), False
    return None, False


# --- details ------------------------------------------------------------------------------------


def parse_details(value: Any) -> tuple[dict[str, Any], str | None]:
    """Details as a dict, and a note: raw files hold a dict, the `datasets` copy a JSON string."""
    if value is None or value == "":
        return {}, None
    if isinstance(value, dict):
        return value, None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}, NOTE_BAD_DETAILS
        if isinstance(parsed, dict):
            return parsed, NOTE_DETAILS_AS_STRING
    return {}, NOTE_BAD_DETAILS


# --- text ---------------------------------------------------------------------------------------

_MARKUP = '[]{}"【】'  # markup characters, replaced by spaces
# One approximate token: a run of up to 7 letters, 1-3 digits, or one other symbol. Llama-3-style
# tokenizers split numbers into groups of three digits and most words into one or two pieces.
# Calibrated on the 1,098 `raw` items of course-items.jsonl (cut by the course at 150-160 Llama 3
# tokens): this count's median there is 160, so it tracks the real tokenizer within a few percent
# without downloading one.
_TOKEN = re.compile(r"[^\W\d_]{1,7}|\d{1,3}|[^\w\s]|_")


def count_tokens(text: str) -> int:
    """An approximate token count (see `_TOKEN`)."""
    return len(_TOKEN.findall(text))


def cut_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """`text` cut after `max_tokens` approximate tokens, and whether it was cut."""
    if len(text.split()) >= max_tokens:
        # At least max_tokens words, so at least max_tokens tokens: one C-level match of exactly
        # that many succeeds on its greedy first try (only whitespace lies between tokens).
        match = _first_tokens(max_tokens).match(text)
        assert match is not None
        end = match.end()
    else:  # few words: step through the tokens (a failing match could backtrack for long)
        end = len(text)
        for n, token in enumerate(_TOKEN.finditer(text), start=1):
            if n == max_tokens:
                end = token.end()
                break
    return (text[:end], True) if text[end:].strip() else (text, False)


@lru_cache(maxsize=8)
def _first_tokens(count: int) -> re.Pattern[str]:
    return re.compile(rf"(?:\s*(?:{_TOKEN.pattern})){{{count}}}")


_DIGIT = re.compile(r"\d")
_EDGE_PUNCTUATION = ".,;:!?()'"


def _is_part_number(word: str, rule: str, min_len: int) -> bool:
    """`digits`: any word of `min_len`+ characters holding a digit (the 2024 course rule).
    `upper-alnum`: an ASCII code of upper-case letters and digits, both present (2025 rule)."""
    if len(word) < min_len or word.isalpha():
        return False
    if rule == "digits":
        return _DIGIT.search(word) is not None
    core = word.strip(_EDGE_PUNCTUATION)
    return (
        len(core) >= min_len
        and core.isascii()
        and core.isalnum()
        and core.isupper()  # at least one letter, none lower-case
        and not core.isalpha()  # so at least one digit
    )


def scrub(text: str, config: CurationConfig) -> str:
    """Drop markup characters and part-number-like words; collapse whitespace.

    Works on whitespace-separated words with str methods: a regex pass over every character
    costs several times more, and this is the hot loop of curation.
    """
    for mark in _MARKUP:
        if mark in text:
            text = text.replace(mark, " ")
    words = text.split()
    rule, n = config.part_number_rule, config.part_number_min_len
    if rule != "off":  # most words are short or all letters: test those inline, cheaply
        words = [w for w in words if len(w) < n or w.isalpha() or not _is_part_number(w, rule, n)]
    return " ".join(words).replace(" ,", ",")


def _join(value: Any, limit: int) -> str:
    if isinstance(value, list):
        value = " ".join(str(part) for part in value if part)
    elif not isinstance(value, str):
        value = "" if value is None else str(value)
    return value[:limit]


def render_details(details: Mapping[str, Any], config: CurationConfig) -> str:
    drop = set(config.drop_detail_keys)
    parts = []
    for key, value in details.items():
        if key in drop or value in (None, "", []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)[: config.max_chars_each]


# --- the record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curated:
    """A kept record: the item's fields, ready to be written as pricebench JSONL."""

    fields: dict[str, Any]
    notes: tuple[str, ...]


def curate_record(record: Any, config: CurationConfig, category: str | None = None) -> Curated:
    """The item made from one decoded raw record, or `Rejected` saying why there is none.

    `category` is the source's category (from its file name); without it, `main_category`.
    """
    if not isinstance(record, dict):
        raise Rejected(NOT_AN_OBJECT)
    notes: list[str] = []
    price, from_string = parse_record_price(
        record.get("price"), accept_dollar_strings=config.accept_dollar_strings
    )
    if from_string:
        notes.append(NOTE_PRICE_FROM_STRING)
    if not config.min_price <= price <= config.max_price:
        raise Rejected(PRICE_OUT_OF_RANGE)
    raw_title = record.get("title")
    title = " ".join(raw_title.split()) if isinstance(raw_title, str) else ""
    if not title:
        raise Rejected(MISSING_TITLE)

    details, details_note = parse_details(record.get("details"))
    if details_note:
        notes.append(details_note)
    weight, weight_unreadable = weight_from_details(details)
    if weight_unreadable:
        notes.append(NOTE_WEIGHT_UNREADABLE)

    body = [
        _join(record.get("description"), config.max_chars_each),
        _join(record.get("features"), config.max_chars_each),
    ]
    if config.include_details:
        body.append(render_details(details, config))
    contents = "\n".join(part for part in body if part)[: config.max_chars]
    if len(title) + 1 + len(contents) < config.min_chars:
        raise Rejected(TOO_LITTLE_TEXT)  # scrubbing only shortens: no need to scrub to know
    lines = [scrub(title, config)] + [scrub(line, config) for line in contents.split("\n")]
    text = "\n".join(line for line in lines if line)
    if len(text) < config.min_chars:
        raise Rejected(TOO_LITTLE_TEXT)
    if config.max_tokens is not None:
        text, capped = cut_tokens(text, config.max_tokens)
        if capped:
            notes.append(NOTE_TEXT_CAPPED)
    if config.min_tokens and count_tokens(text) < config.min_tokens:
        raise Rejected(TOO_LITTLE_TEXT)

    item_id = record.get("parent_asin") or _fallback_id(title, price)
    main_category = record.get("main_category")
    fields: dict[str, Any] = {
        "id": str(item_id),
        "title": title,
        "text": text,
        "price": price,
        "category": category or (main_category if isinstance(main_category, str) else None) or None,
    }
    brand = details.get("Brand") or record.get("store")
    if isinstance(brand, str) and brand.strip():
        fields["brand"] = brand.strip()
    if weight is not None:
        fields["weight_lb"] = round(weight, 4)
    return Curated(fields, tuple(notes))


def _fallback_id(title: str, price: float) -> str:
    return "t" + hashlib.sha1(f"{title}\t{price!r}".encode()).hexdigest()[:15]
