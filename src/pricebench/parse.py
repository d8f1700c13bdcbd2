"""Turning a pricer's text reply into a price.

The rules, in order:

1. A number written as a price is taken first: "$45", "US$ 45", "£12", "€9.99". Otherwise the
   first number in the reply: "Price is 45", "about 45 dollars", "45.00 USD".
2. Thousands separators and scientific notation are read: "1,299.99", "1.2e3".
3. A range, "40-50", "$40 to $50", "40–50" or "between 40 and 50", gives its midpoint (45).
4. No number, a refusal, a negative number ("-45", "-$45") or a number too large to be finite
   is a failure (`PriceParseError`, which keeps the reply), never a guess.
"""

from __future__ import annotations

import math
import re

from pricebench.errors import PriceParseError

# A number as people write prices: "1,299.99", "45", ".5", "1.2e3". No sign: signs are looked at
# separately, because "40-50" is a range, not 40 and -50.
_NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\d])")
_CURRENCY = "$£€"
_MINUS = "-\u2212"  # hyphen-minus and the minus sign
_RANGE_JOIN = re.compile(r"\s*(?:-|\u2013|\u2014|to|and)\s*(?:US)?[$£€]?\s*", re.IGNORECASE)


def parse_price(reply: str) -> float:
    """The price in `reply` (see the module's rules), or `PriceParseError` keeping the reply."""
    numbers = [m for m in _NUMBER.finditer(reply) if any(ch.isdigit() for ch in m.group(0))]
    if not numbers:
        raise PriceParseError(f"no price in reply: {reply!r}", reply)
    priced = [m for m in numbers if _before(reply, m.start()).endswith(tuple(_CURRENCY))]
    first = (priced or numbers)[0]
    if _is_negative(reply, first.start()):
        raise PriceParseError(f"negative price in reply: {reply!r}", reply)
    value = _value(first.group(0))
    join = _RANGE_JOIN.match(reply, first.end())
    if join is not None:
        second = _NUMBER.match(reply, join.end())
        is_and = join.group(0).strip(" $£€").lower().endswith("and")
        between = (
            _before(reply, first.start()).rstrip(_CURRENCY + "US ").lower().endswith("between")
        )
        if second is not None and second.group(0) and (not is_and or between):
            value = (value + _value(second.group(0))) / 2
    if not math.isfinite(value):
        raise PriceParseError(f"price is not a finite number in reply: {reply!r}", reply)
    return value


def _value(token: str) -> float:
    return float(token.replace(",", ""))


def _before(text: str, position: int) -> str:
    """The text before `position`, without the spaces just before it."""
    return text[:position].rstrip()


def _is_negative(text: str, position: int) -> bool:
    """Whether a minus sign stands before the number (past any currency sign), not a range dash."""
    before = _before(text, position).rstrip(_CURRENCY + " ")
    if before.endswith("US"):
        before = before[:-2].rstrip()
    if not before.endswith(tuple(_MINUS)):
        return False
    # "40-50": a dash after a number joins a range, it is no sign.
    return not before[:-1].rstrip().rstrip(_CURRENCY).rstrip()[-1:].isdigit()
