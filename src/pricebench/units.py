"""Weights stated in product text, in pounds: one unit table for curation and for features."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

_POUND = 1.0
_KILOGRAM = 1 / 0.45359237  # pounds; the international pound is exactly 0.45359237 kg
POUNDS_PER_UNIT = {
    "hundredths pounds": 0.01 * _POUND,
    "hundredths pound": 0.01 * _POUND,
    "pounds": _POUND,
    "pound": _POUND,
    "lbs": _POUND,
    "lb": _POUND,
    "ounces": _POUND / 16,
    "ounce": _POUND / 16,
    "oz": _POUND / 16,
    "kilograms": _KILOGRAM,
    "kilogram": _KILOGRAM,
    "kg": _KILOGRAM,
    "grams": _KILOGRAM / 1000,
    "gram": _KILOGRAM / 1000,
    "g": _KILOGRAM / 1000,
    "milligrams": _KILOGRAM / 1e6,
    "milligram": _KILOGRAM / 1e6,
    "mg": _KILOGRAM / 1e6,
}
# A number and a unit, not followed by "/" (a rate such as "oz/yd" is no weight).
_WEIGHT = re.compile(
    r"(\d+(?:\.\d+)?|\.\d+)\s*("
    + "|".join(sorted(map(re.escape, POUNDS_PER_UNIT), key=len, reverse=True))
    + r")\b(?!\s*/)",
    re.IGNORECASE,
)


def weights(text: str) -> Iterator[float]:
    """Every weight `text` states, in pounds, in order ("1,200 grams": thousands separators)."""
    for match in _WEIGHT.finditer(text.replace(",", "")):
        pounds = float(match.group(1)) * POUNDS_PER_UNIT[match.group(2).lower()]
        if math.isfinite(pounds):  # "999...9 pounds" overflows to infinity: no weight
            yield pounds


def parse_weight(text: str) -> float | None:
    """Pounds from a weight like "12 Ounces", "1.5 kilograms", "45 hundredths pounds"; None
    when `text` states none."""
    return next(weights(text), None)
