"""Features for local pricers: numbers pulled from product text, and the course's engineered set.

Both are scikit-learn transformers that take a list of texts (one string per item), so they fit in
a `Pipeline` next to text vectorisers and are saved with it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pricebench.units import weights

_NUM = r"(\d+(?:[.,]\d+)?)"
# Patterns whose first group is the number; each gives one feature (log of the largest match).
_QUANTITIES: dict[str, re.Pattern[str]] = {
    "pack": re.compile(
        r"(?:pack of|set of|case of|box of)\s*(\d+)"
        r"|(\d+)\s*-?\s*(?:pack|pk|count|ct|pcs|pieces?)\b",
        re.IGNORECASE,
    ),
    "watts": re.compile(_NUM + r"\s*-?\s*(?:w|watts?)\b", re.IGNORECASE),
    "volts": re.compile(_NUM + r"\s*-?\s*(?:v|volts?)\b", re.IGNORECASE),
    "inches": re.compile(_NUM + r"\s*(?:\"|″|”|-?inch(?:es)?\b|in\b)", re.IGNORECASE),
    "storage_gb": re.compile(_NUM + r"\s*(?:gb|tb)\b", re.IGNORECASE),
    "millilitres": re.compile(_NUM + r"\s*(?:ml|fl\.? ?oz|litres?|liters?|l|gallons?|gal)\b", re.I),
    "mah": re.compile(_NUM + r"\s*mah\b", re.IGNORECASE),
}
_RANK = re.compile(r"\b(?:best ?sellers? )?rank\b\D{0,80}?(\d[\d,]*)", re.IGNORECASE)
_ANY_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_BRAND_LINE = re.compile(r"^brand:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def weight_pounds(text: str) -> float | None:
    """The first weight the text states, in pounds (kg, g, oz converted), or None."""
    return next((pounds for pounds in weights(text) if pounds > 0), None)


def best_seller_rank(text: str) -> float | None:
    """The first sales rank the text states ("Rank Tools & Home Improvement 2549"), or None."""
    match = _RANK.search(text)
    return _number(match.group(1)) if match else None


def brand_of(text: str) -> str:
    """The brand: a `Brand:` line when the text has one, else the title's first word."""
    match = _BRAND_LINE.search(text)
    if match:
        return match.group(1).strip().lower()
    first = text.removeprefix("Title:").strip().split(maxsplit=1)
    return first[0].lower() if first else ""


def quantities(text: str) -> dict[str, float]:
    """The largest value of each quantity (pack count, watts, volts, ...) the text states."""
    found: dict[str, float] = {}
    for name, pattern in _QUANTITIES.items():
        values = []
        for match in pattern.finditer(text):
            raw = next((g for g in match.groups() if g), None)
            if raw is not None:
                values.append(_number(raw))
        if values:
            found[name] = max(values)
    return found


class TextNumbers(TransformerMixin, BaseEstimator):
    """Numbers pulled from the text, log-scaled, each with a "was it there" flag.

    Columns: weight (pounds), each quantity in `_QUANTITIES`, sales rank, largest number, count
    of numbers, characters and words. Missing values are 0 with their flag set to 0, which linear
    models and trees both read correctly.
    """

    def fit(self, texts: Sequence[str], y: object = None) -> TextNumbers:
        self.n_features_out_ = len(self.feature_names())
        return self

    @staticmethod
    def feature_names() -> list[str]:
        names = ["weight_lb", *_QUANTITIES, "rank"]
        flagged = [f"{n}{suffix}" for n in names for suffix in ("", "_present")]
        return [*flagged, "largest_number", "n_numbers", "n_chars", "n_words"]

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._row(text) for text in texts], dtype=float)

    @staticmethod
    def _row(text: str) -> list[float]:
        found = quantities(text)
        weight = weight_pounds(text)
        rank = best_seller_rank(text)
        values: list[float | None] = [weight, *(found.get(n) for n in _QUANTITIES), rank]
        row: list[float] = []
        for value in values:
            row += [math.log1p(value), 1.0] if value is not None else [0.0, 0.0]
        numbers = [float(n) for n in _ANY_NUMBER.findall(text)]
        row.append(math.log1p(min(max(numbers, default=0.0), 1e9)))
        row.append(math.log1p(len(numbers)))
        row.append(math.log1p(len(text)))
        row.append(math.log1p(len(text.split())))
        return row


class CourseFeatures(TransformerMixin, BaseEstimator):
    """The course's engineered features: weight, sales rank, text length and a known-brand flag.

    Missing weight and rank are filled with their training means (learned in `fit`); a brand is
    "known" when at least `min_brand_count` training items share it.
    """

    def __init__(self, min_brand_count: int = 3) -> None:
        self.min_brand_count = min_brand_count

    def fit(self, texts: Sequence[str], y: object = None) -> CourseFeatures:
        weights = [w for t in texts if (w := weight_pounds(t)) is not None]
        ranks = [r for t in texts if (r := best_seller_rank(t)) is not None]
        self.mean_weight_ = float(np.mean(weights)) if weights else 0.0
        self.mean_rank_ = float(np.mean(ranks)) if ranks else 0.0
        counts = Counter(brand_of(t) for t in texts)
        self.known_brands_ = sorted(b for b, n in counts.items() if b and n >= self.min_brand_count)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        known = set(self.known_brands_)
        rows = []
        for text in texts:
            weight = weight_pounds(text)
            rank = best_seller_rank(text)
            rows.append(
                [
                    self.mean_weight_ if weight is None else weight,
                    self.mean_rank_ if rank is None else rank,
                    float(len(text)),
                    float(brand_of(text) in known),
                ]
            )
        return np.array(rows, dtype=float)
