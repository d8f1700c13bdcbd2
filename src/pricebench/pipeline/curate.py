"""Curation rules: one raw Amazon Reviews 2023 record -> one item, or the reason it was dropped.

Three rule sets, chosen by `CurationConfig.rules` and saved in every dataset's manifest:

- `course-2024`: the course's 2024 week-6 `Item` + `ItemLoader`, exactly: details as a JSON string
  with the course's word removals, description, features and details on one line after the title,
  at least 301 characters of contents (title not counted), more than 150 Llama tokens, cut at 160.
- `course-2025`: the course's 2025 `parser.parse`, exactly: lists written as Python reprs, details
  as JSON, the course's upper-case code regex (quirks included), at least 600 characters of the
  whole text, capped at 4,000.
- `pricebench` (preset `pricebench-clean`): pricebench's own cleaner text: readable details, markup
  and part numbers dropped per word, line breaks kept, every length capped.

Nothing here reads files: `pricebench.pipeline.stream` fans these functions out over a file.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pricebench.errors import DataError
from pricebench.pipeline.llama import INSTALL_HINT, LLAMA_MODEL, llama_tokenizer
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
TRUNCATED_INPUT = "truncated_input"  # a compressed file that breaks off: its unreadable end
# a text that is not valid Unicode (a lone surrogate such as a JSON "\ud800" escape): neither the
# tokenizer nor a UTF-8 file can hold it
UNENCODABLE_TEXT = "unencodable_text"
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
    TRUNCATED_INPUT,
    UNENCODABLE_TEXT,
)

# Things worth knowing about kept records (counted too, never a reason to drop).
NOTE_PRICE_FROM_STRING = "price_from_string"
NOTE_DETAILS_AS_STRING = "details_as_json_string"
NOTE_BAD_DETAILS = "details_unreadable"
NOTE_WEIGHT_UNREADABLE = "weight_unreadable"
NOTE_TEXT_CAPPED = "text_capped"

CONFIG_VERSION = 2  # 2: `rules` and `token_counter` added, presets made the course's rules

RuleSet = Literal["pricebench", "course-2024", "course-2025"]
PRESETS = ("course-2024", "course-2025", "pricebench-clean")
LLAMA_TOKENIZER = LLAMA_MODEL
_NO_LLAMA = f"the course's Llama 3.1 tokenizer is not here: {INSTALL_HINT}"
APPROX_WARNING = (
    "APPROXIMATE token counts (--token-counter approx): the 2024 course's 150/160 Llama token "
    "rules are estimated, so kept items and cut texts are NOT the course's"
)


class CurationConfig(BaseModel):
    """The rules that turn raw records into items. Saved in every dataset's manifest.

    `version` is the version of this schema of rules: a change in what a field means bumps it.
    `name` labels a rule set; the defaults are pricebench's own rules (`pricebench-clean`), and
    `preset()` gives the course's. Lengths are minimums that a text must reach (>=).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = CONFIG_VERSION
    name: str = "pricebench-clean"
    rules: RuleSet = Field(
        "pricebench", description="how the text is built: pricebench's, or one course's exactly"
    )
    token_counter: Literal["approx", "llama"] = Field(
        "approx",
        description="`approx`: pricebench's regex estimate; `llama`: the course's Llama 3.1 "
        "tokenizer, exactly (from the Hugging Face cache, else the extra `course`)",
    )
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
        """`course-2024`, `course-2025` (the course's rules, exactly) or `pricebench-clean`."""
        if name == "course-2024":
            return cls(
                name=name,
                rules="course-2024",
                token_counter="llama",  # exact: the approximation only when asked for
                accept_dollar_strings=False,  # the course float()-ed the price string
                drop_detail_keys=(),  # it removed words from the details' JSON instead
                max_chars=160 * 7,  # contents (title not counted) cut before scrubbing
                min_chars=301,  # the course: more than 300 characters of contents
                max_tokens=160,
                min_tokens=151,  # the course: more than 150 tokens
            )
        if name == "course-2025":
            return cls(
                name=name,
                rules="course-2025",
                accept_dollar_strings=False,
                drop_detail_keys=(
                    "Part Number",
                    "Best Sellers Rank",
                    "Batteries Included?",
                    "Batteries Required?",
                    "Item model number",
                ),
                part_number_rule="upper-alnum",
                max_chars_each=3000,
                max_chars=4000,
                min_chars=600,
                max_tokens=None,
            )
        if name == "pricebench-clean":
            return cls()
        raise ValueError(f"unknown curation preset {name!r} (known: {', '.join(PRESETS)})")

    @model_validator(mode="before")
    @classmethod
    def _auto_is_llama(cls, data: Any) -> Any:
        # `auto` (up to 0.x) fell back to the approximation silently; it now means the tokenizer
        if isinstance(data, dict) and data.get("token_counter") == "auto":
            return {**data, "token_counter": "llama"}
        return data

    def resolved(self) -> CurationConfig:
        """This config, checked before curating starts: the tokenizer it names must load."""
        if self.token_counter == "llama" and llama_tokenizer() is None:
            raise DataError(_NO_LLAMA)
        return self

    def warning(self) -> str | None:
        """What a user must be told about these rules before trusting them as the course's:
        the 2024 rules with approximate token counts."""
        if self.rules == "course-2024" and self.token_counter == "approx":
            return APPROX_WARNING
        return None


class Rejected(Exception):  # noqa: N818 - a verdict, not a failure
    """A record that curation drops; `kind` is one of OUTCOMES."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- JSON ---------------------------------------------------------------------------------------

# json.dumps and json.loads with their defaults, minus their per-call set-up (an encoder built for
# every dumps; encoding detection and two whitespace regex matches for every loads): a few
# microseconds of each priced record's time. Same text out, same values in.
_ENCODE = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # untyped C accelerator
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed


def dumps_json(value: dict[str, Any]) -> str:
    """`json.dumps(value)`, the same text."""
    if _ENCODE is None:
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


def loads_json(raw: bytes) -> Any:
    """`json.loads(raw)`, the same value or error. The quick way takes plain UTF-8 JSON with no
    whitespace before it; anything else (a BOM, UTF-16, surrogates, an error) is json.loads's."""
    try:
        text = raw.decode()
        value, end = _SCAN(text, 0)
    except (ValueError, StopIteration):
        return json.loads(raw)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return json.loads(raw)  # extra data: its error
    return value


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
        try:
            price = float(value)
        except OverflowError:  # an integer of hundreds of digits: no price
            raise Rejected(PRICE_OUT_OF_RANGE) from None
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


# the 2025 course's `get_weight`: the amount's divisor to pounds, by the word after it
_COURSE_2025_UNITS = {
    "pounds": 1.0,
    "ounces": 16.0,
    "grams": 453.592,
    "milligrams": 453592.0,
    "kilograms": 0.453592,
}


def course_2025_weight(details: Mapping[str, Any]) -> tuple[float, bool]:
    """(pounds, unreadable) as the 2025 course's `get_weight` gives them: only "Item Weight",
    split on single spaces, `float()` of the first part, divided by the unit's factor (pounds,
    ounces, grams, milligrams, kilograms, "hundredths pounds"); 0 otherwise. Where the course's
    code would have raised (no number, no unit) the weight is 0 and noted as unreadable."""
    raw = details.get("Item Weight")
    if not raw:
        return 0.0, False
    if not isinstance(raw, str):
        return 0.0, True
    parts = raw.split(" ")
    try:
        amount = float(parts[0])
        unit = parts[1].lower()
        if unit in _COURSE_2025_UNITS:
            weight = amount / _COURSE_2025_UNITS[unit]
        elif unit == "hundredths" and parts[2].lower() == "pounds":
            weight = amount / 100
        else:
            return 0.0, False
    except (ValueError, IndexError):
        return 0.0, True
    if not math.isfinite(weight):  # "nan pounds": no weight a JSON file can hold
        return 0.0, True
    return weight, False


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

    `category` is the source's category; without it, `main_category`.
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
    if not isinstance(raw_title, str) or not raw_title.strip():
        raise Rejected(MISSING_TITLE)
    # The course's rule sets keep the title whole, as it came: the 2025 course told duplicates by
    # the whole title (two long titles alike in their first 3,000 characters are two items), and
    # cut it nowhere. pricebench's own rules make it a capped line.
    title = raw_title
    if config.rules == "pricebench":
        title = " ".join(raw_title[: config.max_chars_each].split())

    details, details_note = parse_details(record.get("details"))
    if details_note:
        notes.append(details_note)

    # the text first: it drops most priced records, and then nothing else is worked out for them
    if config.rules == "course-2024":
        text = _course_2024_text(record, raw_title, details, config, notes)
    elif config.rules == "course-2025":
        text = _course_2025_text(record, raw_title, details, config)
    else:
        text = _pricebench_text(record, title, details, config, notes)
    weight: float | None
    if config.rules == "course-2025":
        weight, weight_unreadable = course_2025_weight(details)
    else:
        weight, weight_unreadable = weight_from_details(details)
        weight = None if weight is None else round(weight, 4)
    if weight_unreadable:
        notes.append(NOTE_WEIGHT_UNREADABLE)

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
        fields["brand"] = brand.strip()[:200]
    if weight:  # the 2025 course's 0 is "unknown": left out, as a course dataset row's is
        fields["weight_lb"] = weight
    for value in fields.values():
        if isinstance(value, str):
            _check_encodable(value)
    return Curated(fields, tuple(notes))


def _check_encodable(text: str) -> None:
    """`Rejected(UNENCODABLE_TEXT)` for a text that is not valid Unicode (a lone surrogate)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected(UNENCODABLE_TEXT) from None


def _pricebench_text(
    record: dict, title: str, details: dict[str, Any], config: CurationConfig, notes: list[str]
) -> str:
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
    return _apply_tokens(text, config, notes)


def _apply_tokens(text: str, config: CurationConfig, notes: list[str]) -> str:
    """The token minimum, then the token cut, with the config's counter."""
    llama = llama_tokenizer() if config.token_counter != "approx" else None
    if config.token_counter == "llama" and llama is None:
        raise DataError(_NO_LLAMA)
    if llama is None and _ATOMIC:
        return _apply_approx_tokens(text, config, notes)
    if llama is not None:
        _check_encodable(text)  # the tokenizer raises a TypeError on a lone surrogate
        tokens = llama.encode(text)
        if len(tokens) < config.min_tokens:
            raise Rejected(TOO_LITTLE_TEXT)
        capped = config.max_tokens is not None and len(tokens) > config.max_tokens
        if capped:
            notes.append(NOTE_TEXT_CAPPED)
        if capped or config.rules == "course-2024":
            # the course decoded every kept text, cut or not: the clean-up can change it
            return llama.decode(tokens[: config.max_tokens])
        return text
    limit = config.max_tokens
    if limit is not None and limit >= config.min_tokens and len(text.split()) >= limit:
        # as many words as the cut, so at least that many tokens: enough, no need to count
        text, capped = cut_tokens(text, limit)
    else:
        if config.min_tokens and count_tokens(text) < config.min_tokens:
            raise Rejected(TOO_LITTLE_TEXT)
        text, capped = cut_tokens(text, limit) if limit is not None else (text, False)
    if capped:
        notes.append(NOTE_TEXT_CAPPED)
    return text


# Python 3.11+ regexes have atomic groups: a run of exactly N approximate tokens is then one match
# that fails in linear time when there are fewer (3.10 counts the tokens one by one instead).
_ATOMIC = sys.version_info >= (3, 11)


@lru_cache(maxsize=8)
def _tokens_between(low: int, high: int) -> re.Pattern[str]:
    """Matches the first `low` to `high` approximate tokens (as many as there are), or fails when
    there are fewer than `low`."""
    token = r"(?:\s*+(?>[^\W\d_]{1,7}+|\d{1,3}+|[^\w\s]|_))"  # `_TOKEN`, possessive
    return re.compile(rf"{token}{{{low}}}{token}{{0,{high - low}}}+")


# `_TOKEN` for ASCII text as a bytes pattern, with the classes that str patterns give ASCII
# characters (\s includes \x1c-\x1f there): a bytes match skips the Unicode lookups, twice as fast
_ASCII_SPACE = rb"\t\n\x0b\x0c\r\x1c-\x1f "
_ASCII_TOKEN = rb"(?:[%s]*+(?>[A-Za-z]{1,7}+|[0-9]{1,3}+|[^A-Za-z0-9_%s]|_))" % (
    _ASCII_SPACE,
    _ASCII_SPACE,
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=8)
def _ascii_tokens_between(low: int, high: int) -> re.Pattern[bytes]:
    return re.compile(b"%s{%d}%s{0,%d}+" % (_ASCII_TOKEN, low, _ASCII_TOKEN, high - low))


def _tokens_end(text: str, low: int, high: int) -> int | None:
    """Where the first `low` to `high` approximate tokens of `text` end; None: fewer than `low`."""
    if text.isascii():
        found = _ascii_tokens_between(low, high).match(text.encode("ascii"))
    elif not any(c.isalnum() or c.isspace() for c in set(_NON_ASCII.findall(text))):
        # Its non-ASCII characters are symbols (™, °, –...): each is one token of its own, as
        # the "?" that replaces it is, so the bytes match gives the same ends (twice as fast)
        found = _ascii_tokens_between(low, high).match(text.encode("ascii", "replace"))
    else:
        found = _tokens_between(low, high).match(text)  # type: ignore[assignment]
    return None if found is None else found.end()


def _apply_approx_tokens(text: str, config: CurationConfig, notes: list[str]) -> str:
    """`_apply_tokens` with the approximation: one C-level match, no token list."""
    limit = config.max_tokens
    if limit is not None and limit < config.min_tokens:  # an odd config: the plain way
        if count_tokens(text) < config.min_tokens:
            raise Rejected(TOO_LITTLE_TEXT)
        text, capped = cut_tokens(text, limit)
    else:
        low = config.min_tokens
        if limit is None:
            if low and _tokens_end(text, low, low) is None:
                raise Rejected(TOO_LITTLE_TEXT)
            return text
        end = _tokens_end(text, low, limit)
        if end is None:
            raise Rejected(TOO_LITTLE_TEXT)
        capped = bool(text[end:].strip())
        if capped:
            text = text[:end]
    if capped:
        notes.append(NOTE_TEXT_CAPPED)
    return text


# --- the course's rules -------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    """A description or features value as the list of strings the course joined."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [part if isinstance(part, str) else str(part) for part in value]
    return []


# 2024: removed from the details' JSON text, in this order (substring removals, as the course did)
_REMOVALS_2024 = (
    '"Batteries Included?": "No"',
    '"Batteries Included?": "Yes"',
    '"Batteries Required?": "No"',
    '"Batteries Required?": "Yes"',
    "By Manufacturer",
    "Item",
    "Date First",
    "Package",
    ":",
    "Number of",
    "Best Sellers",
    "Number",
    "Product ",
)
_MARKUP_2024 = ':[]"{}【】'  # each becomes a space, like whitespace
# str.isdigit() is true for \d and for 128 other code points (superscripts, circled digits...)
_ISDIGIT = "".join(c for c in map(chr, range(0x80, 0x20000)) if c.isdigit() and not c.isdecimal())
_DIGITS = r"\d" + re.escape(_ISDIGIT)
# a word of 7+ characters holding a digit, with the space before it: the literal space lets the
# regex engine jump from word to word, and the two classes cannot overlap, so a possessive `*+`
# (Python 3.11+) fails a word without a digit at its end instead of stepping back through it
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
_DIGIT_WORD_2024 = re.compile(rf" (?=[^ ]{{7}})[^ {_DIGITS}]*{_POSSESSIVE}[{_DIGITS}][^ ]*")
# the same with \d only (a large class costs 2-3x per character): for texts without the others
_DECIMAL_WORD_2024 = re.compile(rf" (?=[^ ]{{7}})[^ \d]*{_POSSESSIVE}\d[^ ]*")


def _has_other_digit(text: str) -> bool:
    """Whether `text` holds a digit that is not \\d (all such are non-ASCII, and rare)."""
    return not text.isascii() and any(c.isdigit() for c in set(_NON_ASCII.findall(text)))


def _scrub_2024(text: str) -> str:
    """The 2024 course's scrub: markup and whitespace runs -> one space, stripped; " ," -> ",";
    then words of 7+ characters holding a digit dropped. str methods and one regex pass do what
    its regex and per-word loop did, several times faster."""
    for mark in _MARKUP_2024:
        if mark in text:
            text = text.replace(mark, " ")
    text = " ".join(text.split())  # str.split() and re's \s agree on what whitespace is
    if " ," in text:
        text = text.replace(" ,", ",")
    if ",," in text:
        text = text.replace(",,,", ",").replace(",,", ",")
    pattern = _DIGIT_WORD_2024 if _has_other_digit(text) else _DECIMAL_WORD_2024
    return pattern.sub("", " " + text)[1:]


def _course_2024_text(
    record: dict, title: str, details: dict[str, Any], config: CurationConfig, notes: list[str]
) -> str:
    contents = "\n".join(_strings(record.get("description")))
    if contents:
        contents += "\n"
    features = "\n".join(_strings(record.get("features")))
    if features:
        contents += features + "\n"
    # Details come last: when the contents reach the cut (and so the minimum) without them, they
    # would be cut off, and writing them is most of this function's time
    if len(contents) < max(config.max_chars, config.min_chars):
        # the course read details as the `datasets` copy's JSON string: there, "{}" at least
        scrubbed = dumps_json(details)
        for removal in _REMOVALS_2024:
            if removal in scrubbed:
                scrubbed = scrubbed.replace(removal, "")
        contents += scrubbed + "\n"
        if len(contents) < config.min_chars:
            raise Rejected(TOO_LITTLE_TEXT)
    text = f"{_scrub_2024(title)}\n{_scrub_2024(contents[: config.max_chars])}"
    return _apply_tokens(text, config, notes)


# 2025: runs of 7+ upper-case letters and digits, between word boundaries; the course removed one
# when an upper-case letter and a digit follow on its line (the run itself included)
_UPPER = re.compile(r"[A-Z]")
_DIGIT_ANY = re.compile(r"\d")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _drop_codes_2025(text: str) -> str:
    """The course's regex `\\b(?=[A-Z0-9]{7,}\\b)(?=.*[A-Z])(?=.*\\d)[A-Z0-9]+\\b` removed, in
    one fast scan for candidates (its lookaheads made every position of the text a try)."""
    pieces: list[str] = []
    done = 0
    next_upper = next_digit = -1  # cached next positions (searches only move forward)
    for start, end in _code_runs(text):
        if start and _is_word_char(text[start - 1]):
            continue
        if end < len(text) and _is_word_char(text[end]):
            continue
        line_end = text.find("\n", end)
        if line_end < 0:
            line_end = len(text)
        if next_upper < start:
            found = _UPPER.search(text, start)
            next_upper = found.start() if found else len(text) + 1
        if next_digit < start:
            found = _DIGIT_ANY.search(text, start)
            next_digit = found.start() if found else len(text) + 1
        if next_upper < line_end and next_digit < line_end:
            pieces.append(text[done:start])
            done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


# upper-case letters and digits become byte 1, so a run of 7 is a plain substring search
_CODE_BYTES = bytes(1 if chr(b).isascii() and (chr(b).isupper() or chr(b).isdigit()) else 0
                    for b in range(256))  # fmt: skip
_SEVEN = b"\x01" * 7
_ONES = re.compile(b"\x01*")


def _code_runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of 7+ [A-Z0-9], as `re.finditer("[A-Z0-9]{7,}")`
    gives them."""
    # "replace" writes one "?" for each non-ASCII character (never [A-Z0-9], as they are not),
    # so the bytes' offsets are the text's: a regex scan of a non-ASCII text costs 5x more
    marks = text.encode("ascii", "replace").translate(_CODE_BYTES)
    at = marks.find(_SEVEN)
    while at >= 0:
        end = _ONES.match(marks, at).end()  # type: ignore[union-attr]  # always matches
        yield at, end
        at = marks.find(_SEVEN, end)


def _simplify_2025(value: Any, limit: int) -> str:
    text = str(value)
    for old, new in (("\n", " "), ("\r", ""), ("\t", ""), ("  ", " ")):
        if old in text:
            text = text.replace(old, new)
    return text.strip()[:limit]


def _course_2025_text(
    record: dict, title: str, details: dict[str, Any], config: CurationConfig
) -> str:
    drop = config.drop_detail_keys
    if any(key in details for key in drop):
        details = {key: value for key, value in details.items() if key not in drop}
    parts = [title, "\n"]
    for key in ("description", "features"):
        value = record.get(key)
        if value:
            parts += (_simplify_2025(value, config.max_chars_each), "\n")
    if details:
        parts += (dumps_json(details), "\n")
    text = "".join(parts)
    if len(text) < config.min_chars or len(text.strip()) < config.min_chars:
        raise Rejected(TOO_LITTLE_TEXT)  # dropping codes only shortens: no need to drop them
    text = _drop_codes_2025(text).strip()[: config.max_chars]
    if len(text) < config.min_chars:
        raise Rejected(TOO_LITTLE_TEXT)
    return text


def _fallback_id(title: str, price: float) -> str:
    return "t" + hashlib.sha1(f"{title}\t{price!r}".encode()).hexdigest()[:15]
