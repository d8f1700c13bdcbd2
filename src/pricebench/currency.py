"""The currency of a data set's prices, checked where it enters (an option, a file's loader,
a saved run's header).

It is printed in summaries, rich terminal markup, HTML reports and chart labels, so only
harmless text gets in: an ISO 4217 code (`USD`, `GBP`) or a short symbol (`$`, `£`, `kr`, `R$`).
"""

from __future__ import annotations

import re
import unicodedata

from pricebench.errors import DataError

MAX_SYMBOL = 4  # characters: "US$", "Rs." and "CHF" fit; a sentence or a tag does not
_ISO_CODE = re.compile(r"[A-Za-z]{3}")


class CurrencyError(DataError, ValueError):
    """Not a currency. A ValueError too, so that pydantic reports it as a bad field."""


def check_currency(text: object) -> str:
    """`text` when it names a currency; a three-letter code comes back in capitals (`gbp` ->
    `GBP`). `CurrencyError` otherwise: a symbol is 1 to 4 letters, currency signs (Unicode
    category Sc: `$`, `£`, `€`, `₹`) or dots, nothing that markup could read."""
    if isinstance(text, str) and _ISO_CODE.fullmatch(text):
        return text.upper()
    if isinstance(text, str) and 0 < len(text) <= MAX_SYMBOL and all(map(_symbol_part, text)):
        return text
    shown = repr(text) if len(repr(text)) <= 60 else repr(text)[:57] + "..."
    raise CurrencyError(
        f"currency {shown} is neither an ISO 4217 code (USD, GBP, EUR) nor a short symbol ($, £, "
        f"kr): up to {MAX_SYMBOL} letters, currency signs or dots"
    )


def _symbol_part(char: str) -> bool:
    category = unicodedata.category(char)
    return char == "." or category == "Sc" or category in ("Lu", "Ll", "Lo")
