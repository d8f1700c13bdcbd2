"""Turning a pricer's text reply into a price.

The rules, in order:

1. The amount after "Price is" comes first, then an amount written as a price ("$45", "US$ 45",
   "45 dollars", "£12", "€9,99"), then the first other number ("about 45", "45.00 USD").
2. A number glued to letters or a model code is never a price ("WH-1000XM4", "3S", "6ft"), nor one
   followed by a size or model word ("15 Pro", "6 ft", "128 GB", "2 pack") or an inch mark
   ('65" TV', "65″"; not a closing quote, as in '"45"') unless it is written as a price.
3. Thousands separators, scientific notation and multipliers are read: "1,299.99", "1.2e3",
   "$1.2k", "$2 million". Decimal commas ("12,50") only with a currency other than the dollar.
4. A range, "40-50", "$40 to $50", "40–50" or "between 40 and 50", gives its midpoint (45).
5. No number, a refusal, a negative number ("-45", "-$45"), a number too large to be finite, or
   an amount in another currency than the data's (`currency`), whether its sign comes before or
   after it ("€45", "45,99 €"), is a failure (`PriceParseError`, which keeps the reply),
   never a guess.

Every rule looks at a few characters around each number, so parsing is linear in the reply.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from pricebench.errors import PriceParseError

# A number as people write prices: "1,299.99", "45", ".5", "1.2e3". No sign: signs are looked at
# separately, because "40-50" is a range, not 40 and -50.
_NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?(?!\d)")
# "12,50" and "1.299,99": the decimal comma of euro and pound prices.
_COMMA_DECIMAL = re.compile(r"\d{1,3}(?:\.\d{3})+,\d{1,2}(?!\d)|\d+,\d{1,2}(?![\d,])")
_SIGN_BEFORE = re.compile(r"(US\s?\$|\$|£|€|USD|EUR|GBP)\s*$", re.IGNORECASE)
_CODE_AFTER = re.compile(r"\s*(USD|EUR|GBP|dollars?|bucks|euros?|pounds?)\b", re.IGNORECASE)
# A currency sign after the amount, as euro and pound prices are often written ("45,99 €").
_SIGN_AFTER = re.compile(r"[ \t\u00a0]?(US\s?\$|\$|£|€)")
# An inch mark after a number is a size ('65" TV'): the straight double quote, double prime or a
# right double quotation mark, when no quote opens before the number ('"45"' is a quoted price).
_INCH_MARK = '"\u2033\u201d'
_QUOTES_BEFORE = '"\u201c\u201d'
_MULTIPLIER = re.compile(r"(?:\s*(thousand|million|billion)\b|([kKmM]|bn|BN)(?![A-Za-z]))")
_UNIT_AFTER = re.compile(
    r"[ \t]*(pro|max|plus|mini|ultra|inch(es)?|in|ft|feet|foot|mm|cm|m|km|gb|tb|mb|mah|w|watts?|"
    r"v|volts?|oz|lbs?|pounds? weight|packs?|pcs|pieces|count|ct|x|hz|mp|series|gen|th|st|nd|rd|"
    r"years?|months?|days?|hours?|%)(?![A-Za-z])",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(r"\s*(?:-|\u2013|\u2014|to|and)\s*(?:US)?[$£€]?\s*", re.IGNORECASE)
_MINUS = "-\u2212"  # hyphen-minus and the minus sign
_WINDOW = 16  # characters looked at on either side of a number
_CURRENCIES = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD"}
_CURRENCIES |= {"bucks": "USD", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP"}
_CURRENCIES |= {"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR"}
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}


@dataclass(frozen=True)
class _Amount:
    start: int
    end: int
    value: float
    currency: str | None  # the currency it is written in, if any


def parse_price(reply: str, currency: str = "USD") -> float:
    """The price in `reply` (see the module's rules), or `PriceParseError` keeping the reply."""
    amounts = [a for a in _amounts(reply) if a is not None]
    if not amounts:
        raise PriceParseError(f"no price in reply: {reply[:200]!r}", reply)
    after = reply.lower().find("price is")
    ordered = [a for a in amounts if after >= 0 and a.start > after]
    chosen = _first_marked(ordered) or (ordered[0] if ordered else None) or _first_marked(amounts)
    first = chosen or amounts[0]
    if first.currency is not None and first.currency != currency.upper():
        raise PriceParseError(
            f"reply is in {first.currency}, the data in {currency.upper()}: {reply[:200]!r}", reply
        )
    if _is_negative(reply, first.start):
        raise PriceParseError(f"negative price in reply: {reply[:200]!r}", reply)
    value = _range_midpoint(reply, first) or first.value
    if not math.isfinite(value):
        raise PriceParseError(f"price is not a finite number in reply: {reply[:200]!r}", reply)
    return value


def _first_marked(amounts: list[_Amount]) -> _Amount | None:
    return next((a for a in amounts if a.currency is not None), None)


def _amounts(reply: str) -> list[_Amount | None]:
    found: list[_Amount | None] = []
    for match in _NUMBER.finditer(reply):
        token = match.group(0)
        if not token[:1].isdigit() and not token[:2].startswith("."):
            continue  # "E0" alone is an exponent with no number before it
        found.append(_amount(reply, match.start(), match.end(), token))
    # "40 – 50 dollars": the first number of a range is in the currency of the second.
    for number, (first, second) in enumerate(zip(found, found[1:], strict=False)):
        if first is None or second is None or first.currency or not second.currency:
            continue
        if _RANGE_JOIN.fullmatch(reply, first.end, second.start):
            found[number] = replace(first, currency=second.currency)
    return found


def _amount(reply: str, start: int, end: int, token: str) -> _Amount | None:
    before = reply[max(0, start - _WINDOW) : start]
    # "45,99 €": a sign or code after an amount with a decimal comma comes after the comma part.
    comma = _COMMA_DECIMAL.match(reply, start)
    after = comma.end() if comma is not None else end
    sign = _SIGN_BEFORE.search(before) or _SIGN_AFTER.match(reply, after)
    code = _CODE_AFTER.match(reply, after) or _CODE_AFTER.match(reply, end)
    marked = sign.group(1) if sign else code.group(1) if code else None
    currency = _CURRENCIES.get(marked.lower().replace(" ", "")) if marked else None
    if currency is not None and currency != "USD" and comma is not None:
        end = comma.end()
        token = comma.group(0).replace(".", "").replace(",", ".")
    value = float(token.replace(",", ""))
    scale = _MULTIPLIER.match(reply, end)
    if scale is not None and (scale.group(1) or currency is not None):
        value *= _SCALE[(scale.group(1) or scale.group(2)).lower()]
        end = scale.end()
        code = code or _CODE_AFTER.match(reply, end)
        if currency is None and code is not None:
            currency = _CURRENCIES.get(code.group(1).lower())
    elif _glued(reply, start, end) or (
        currency is None and (_UNIT_AFTER.match(reply, end) or _inch_mark(reply, start, end))
    ):
        return None
    return _Amount(start, end, value, currency)


def _inch_mark(reply: str, start: int, end: int) -> bool:
    """'65" TV': an inch mark after the number, with no quote opening before it."""
    if end >= len(reply) or reply[end] not in _INCH_MARK:
        return False
    return start == 0 or reply[start - 1] not in _QUOTES_BEFORE


def _glued(reply: str, start: int, end: int) -> bool:
    """Part of a word or model code: "3S", "6ft", "WH-1000XM4", "A2-pack" but not "2-pack"."""
    if end < len(reply) and reply[end].isalpha():
        return True
    if start > 0 and reply[start - 1].isalpha():
        return True
    return start > 1 and reply[start - 1] in "-/" and reply[start - 2].isalpha()


def _range_midpoint(reply: str, first: _Amount) -> float | None:
    join = _RANGE_JOIN.match(reply, first.end)
    if join is None:
        return None
    second = _NUMBER.match(reply, join.end())
    if second is None or not second.group(0) or not any(c.isdigit() for c in second.group(0)):
        return None
    is_and = join.group(0).strip(" $£€").lower().endswith("and")
    before = reply[max(0, first.start - _WINDOW) : first.start]
    between = before.rstrip("$£€US ").lower().endswith("between")
    if is_and and not between:
        return None
    if _glued(reply, second.start(), second.end()):
        return None
    return (first.value + float(second.group(0).replace(",", ""))) / 2


def _is_negative(text: str, position: int) -> bool:
    """Whether a minus sign stands before the number (past any currency sign), not a range dash."""
    before = text[max(0, position - _WINDOW) : position].rstrip().rstrip("$£€ ")
    if before.endswith("US"):
        before = before[:-2].rstrip()
    if not before.endswith(tuple(_MINUS)):
        return False
    # "40-50": a dash after a number joins a range, it is no sign.
    return not before[:-1].rstrip().rstrip("$£€").rstrip()[-1:].isdigit()
