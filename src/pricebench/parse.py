"""Turning a pricer's text reply into a price."""

from __future__ import annotations

import re

from pricebench.errors import PriceParseError

# A number as people write prices: "1,299.99", "45", ".5", "1.2e3".
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")


def parse_price(reply: str) -> float:
    """The first price in `reply`, or `PriceParseError` (which keeps the reply).

    "$1,299.99" -> 1299.99; "Price is $45" -> 45.0. A reply with no number, or whose number is
    negative, is a failure rather than a guess.
    """
    text = reply.replace("$", " ").strip()
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        if not any(ch.isdigit() for ch in token):
            continue
        value = float(token.replace(",", ""))
        if value < 0:
            raise PriceParseError(f"negative price in reply: {reply!r}", reply)
        return value
    raise PriceParseError(f"no price in reply: {reply!r}", reply)
