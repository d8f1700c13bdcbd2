"""The `Item`: one product with its text and true price."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from typing import Any, SupportsIndex, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from pricebench.currency import check_currency

# The highest true price an item may have, and the default ceiling of a guess (`Tester`).
MAX_PRICE = 1e9


class Item(BaseModel):
    """A product a pricer reads (`text`) and the price it should guess (`price`).

    `extras` keeps whatever else the source had (brand, weight, rank...) for pricers that use it.
    `split` is the split the source file assigned (`train`, `validation`, `test`), if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title: str
    text: str
    price: float
    category: str | None = None
    split: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_a_positive_number(cls, value: Any) -> float:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("price is missing")
        if isinstance(value, bool):
            raise ValueError(f"price must be a number, got {value!r}")
        try:
            price = float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise ValueError(f"price {str(value)[:20]}... is above {MAX_PRICE:g}") from None
        except (TypeError, ValueError):
            raise ValueError(f"price must be a number, got {value!r}") from None
        if not math.isfinite(price) or price <= 0:
            raise ValueError(f"price must be a positive number, got {value!r}")
        if price > MAX_PRICE:  # 1e308 is finite, but no product costs it: a broken field
            raise ValueError(f"price {value!r} is above {MAX_PRICE:g}, the most an item may cost")
        return price

    @field_validator("id", "title", "text", "category", mode="before")
    @classmethod
    def _text_is_unicode(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON can carry "\ud800", a lone surrogate: no UTF-8 file or record can hold it.
        if isinstance(value, str) and has_surrogate(value):
            raise ValueError(
                f"{info.field_name} holds a lone surrogate (such as \\ud800): not Unicode text"
            )
        return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate, which cannot be encoded as UTF-8."""
    return _SURROGATE.search(text) is not None


class PriceHidden(AttributeError):
    """A pricer read `item.price` at test time, where the true price is hidden."""


class HiddenPriceItem(Item):
    """An item as a pricer sees it at test time: every field but `price`, which raises.

    An `Item` still (isinstance, attributes, `model_dump` without the price), so a pricer that
    does not cheat cannot tell the difference. `hasattr(item, "price")` is False.
    """

    _reader: str = PrivateAttr(default="the pricer")

    def __getattr__(self, name: str) -> Any:
        if name == "price":
            raise PriceHidden(
                f"{self._reader} read item.price at test time: the true price is hidden from "
                "pricers while they are tested (fit sees the training prices)"
            )
        return super().__getattr__(name)  # type: ignore[misc]


def hide_price(item: Item, reader: str | None = None) -> Item:
    """`item` without its price, for `reader` (a pricer's name, said when it reads the price)."""
    fields = {name: getattr(item, name) for name in Item.model_fields if name != "price"}
    hidden = HiddenPriceItem.model_construct(**fields)
    if reader is not None:
        hidden._reader = f"pricer {reader!r}"
    return hidden


def fingerprint(items: Iterable[Item], currency: str = "USD") -> str:
    """A short hash of the items' ids and prices (and their currency), order-independent.

    Stored in every result so that runs on different data are never compared by accident: the
    same items priced in pounds are other data than in dollars. (The currency is hashed only
    when it is not USD, so that dollar runs keep the fingerprints they always had.)
    """
    digest = hashlib.sha256()
    if currency != "USD":
        digest.update(f"currency\t{currency}\n".encode())
    for item_id, price in sorted((item.id, item.price) for item in items):
        digest.update(f"{item_id}\t{price!r}\n".encode())
    return digest.hexdigest()[:12]


class ItemSet(list[Item]):
    """A list of items that knows where it came from: its file, its split and its currency.

    `Dataset.train`, `.validation` and `.test` are item sets, so a `Tester` records what it was
    run on without being told; a slice keeps the labels (`data.test[:100]`). `fallback` is the
    mean training price of the dataset (what the constant pricer says): rankings score a failed
    item with it (docs/compare.md).
    """

    def __init__(
        self,
        items: Iterable[Item] = (),
        *,
        source: str = "",
        split: str = "",
        currency: str = "USD",
        fallback: float | None = None,
    ) -> None:
        super().__init__(items)
        self.source = source
        self.split = split
        self.currency = check_currency(currency)  # printed in HTML and terminal markup
        self.fallback = fallback

    @property
    def label(self) -> str:
        """`source#split`, as run headers record the data."""
        return f"{self.source}#{self.split}" if self.split else self.source

    def subset(self, items: Iterable[Item]) -> ItemSet:
        """`items` (some of these) with these labels."""
        return ItemSet(
            items,
            source=self.source,
            split=self.split,
            currency=self.currency,
            fallback=self.fallback,
        )

    @overload
    def __getitem__(self, index: SupportsIndex) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> ItemSet: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Item | ItemSet:
        if isinstance(index, slice):
            return self.subset(super().__getitem__(index))
        return super().__getitem__(index)


def describe(items: Iterable[Item]) -> tuple[str, str]:
    """(data label, currency) of items: an `ItemSet`'s own, else ("", "USD")."""
    if isinstance(items, ItemSet):
        return items.label, items.currency
    return "", "USD"
