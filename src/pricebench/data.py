"""Reading items from files, and the train / validation / test `Dataset`.

Formats: pricebench's JSONL (one item a line, as in `course-items.jsonl`), the same gzipped
(`.jsonl.gz`), and CSV (`.csv`, `.csv.gz`) with named text and price columns. Every reading error
is a `DataError` that names the file and the line or column; nothing is half-loaded silently.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import random
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pricebench.currency import check_currency
from pricebench.errors import DataError
from pricebench.files import BadLine, raise_csv_field_limit, read_jsonl
from pricebench.items import Item, ItemSet, fingerprint

VALIDATION_NAMES = ("validation", "val", "valid", "dev")
MAX_DEPTH = 64  # JSON nested deeper than this is refused: nothing an item holds needs more
_ITEM_FIELDS = ("id", "title", "text", "price", "category", "split")


@dataclass(frozen=True)
class Dataset:
    """Items split into train, validation and test, and where they came from."""

    train: list[Item]
    test: list[Item]
    validation: list[Item] = field(default_factory=list)
    source: str = ""
    dropped: int = 0  # rows skipped on purpose (no price, price out of range)
    currency: str = "USD"

    def __post_init__(self) -> None:
        # Each split carries its source, name and currency, so a Tester run on it records them,
        # and the training mean: the guess a failed item is scored with when runs are ranked.
        prices = [item.price for item in self.train]
        fallback = math.fsum(prices) / len(prices) if prices else None
        for split in ("train", "test", "validation"):
            labelled = ItemSet(
                getattr(self, split),
                source=self.source,
                split=split,
                currency=self.currency,
                fallback=fallback,
            )
            object.__setattr__(self, split, labelled)  # a frozen dataclass

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.test, self.currency)

    def with_validation(self, fraction: float = 0.1, seed: int = 42) -> Dataset:
        """A copy whose validation set is a seeded part of train, when the file gave none.

        Tuning uses it, so that choices are made on validation items and never on test items.
        """
        if self.validation:
            return self
        train, validation = split_off(self.train, fraction, seed)
        return Dataset(train, self.test, validation, self.source, self.dropped, self.currency)

    def __repr__(self) -> str:
        return (
            f"Dataset(train={len(self.train)}, validation={len(self.validation)}, "
            f"test={len(self.test)}, source={self.source!r})"
        )


def split_off(items: Sequence[Item], fraction: float, seed: int) -> tuple[list[Item], list[Item]]:
    """Split items into (rest, part) where part holds `fraction` of them, chosen with `seed`."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    cut = round(len(items) * fraction)
    part = sorted(order[:cut])
    taken = set(part)
    return [items[i] for i in range(len(items)) if i not in taken], [items[i] for i in part]


def load_dataset(
    path: str | Path,
    *,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    seed: int = 42,
    currency: str = "USD",
    **read_options: Any,
) -> Dataset:
    """Load a file and split it; `currency` is that of its prices.

    A file whose items carry a `split` field is split by that field (`train`, `test`, and
    `validation`/`val`/`dev`); otherwise the items are shuffled with `seed` and cut by fraction.
    `read_options` are those of `load_items`.
    """
    currency = check_currency(currency)  # before the file is read
    items, dropped = _read(Path(path), **read_options)
    splits = {item.split for item in items}
    if splits - {None}:
        unknown = splits - {"train", "test", None, *VALIDATION_NAMES}
        if unknown:
            raise DataError(f"{path}: unknown split value(s) {sorted(map(str, unknown))}")
        if None in splits:
            raise DataError(f"{path}: some items have a split field and some do not")
        train = [i for i in items if i.split == "train"]
        test = [i for i in items if i.split == "test"]
        validation = [i for i in items if i.split in VALIDATION_NAMES]
        return Dataset(train, test, validation, str(path), dropped, currency)
    rest, test = split_off(items, test_fraction, seed)
    validation = []
    if validation_fraction:
        rest, validation = split_off(rest, validation_fraction / (1 - test_fraction), seed + 1)
    return Dataset(rest, test, validation, str(path), dropped, currency)


def load_items(path: str | Path, *, split: str | None = None, **read_options: Any) -> list[Item]:
    """Read every item of a JSONL, JSONL.gz or CSV file (optionally only one `split`).

    Options:
      text_columns: columns (or JSON fields) joined with newlines to make the text; default `text`.
      price_column: the price column or field; default `price`.
      id_column, title_column, category_column: where those come from; default `id`, `title`,
        `category` when present. Without an id, an item's id is its line number.
      drop_unpriced: skip rows whose price is empty or null instead of failing (for shop exports
        where some products have no price).
      price_range: (low, high): skip items priced outside it.
    """
    items, _ = _read(Path(path), **read_options)
    if split is not None:
        chosen = [i for i in items if i.split == split]
        if not chosen:
            present = sorted({str(i.split) for i in items if i.split is not None})
            has = f"splits in the file: {', '.join(present)}" if present else "no split field"
            raise DataError(f"{path}: no item in split {split!r} ({has})")
        items = chosen
    return items


def _read(
    path: Path,
    *,
    text_columns: Sequence[str] | None = None,
    price_column: str = "price",
    id_column: str | None = None,
    title_column: str | None = None,
    category_column: str | None = None,
    drop_unpriced: bool = False,
    price_range: tuple[float, float] | None = None,
) -> tuple[list[Item], int]:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"{path}: no such file") from None
    except OSError as error:  # a folder on the way that cannot be read, say
        raise DataError(f"{path}: cannot read it ({error.strerror or error})") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a directory, not a data file")
    if not stat.S_ISREG(mode):  # a FIFO or a device: reading would block or never end
        raise DataError(f"{path}: not a regular file (a pipe or device); save the data to a file")
    suffixes = [s.lower() for s in path.suffixes]
    is_csv = ".csv" in suffixes[-2:]
    columns = _Columns(text_columns, price_column, id_column, title_column, category_column)
    items: list[Item] = []
    dropped = 0
    seen: dict[str, int] = {}
    lines = _numbered_lines(path)
    rows = _csv_rows(path, lines, columns) if is_csv else _jsonl_rows(path, lines)
    for line, record in rows:
        try:
            raw_price = record.get(columns.price)
            if drop_unpriced and (raw_price is None or str(raw_price).strip() == ""):
                dropped += 1
                continue
            item = columns.item(record, line)
        except ValidationError as error:
            raise DataError(f"{path}, line {line}: {_describe(error, columns.price)}") from None
        except KeyError as error:
            raise DataError(f"{path}, line {line}: field {error.args[0]!r} is missing") from None
        except ValueError as error:
            raise DataError(f"{path}, line {line}: {error}") from None
        if price_range and not price_range[0] <= item.price <= price_range[1]:
            dropped += 1
            continue
        if item.id in seen:
            raise DataError(
                f"{path}, line {line}: id {item.id!r} already used on line {seen[item.id]}"
            )
        seen[item.id] = line
        items.append(item)
    if not items:
        what = "holds no items" if not dropped else f"holds no usable items ({dropped} dropped)"
        raise DataError(f"{path}: {what}")
    return items, dropped


@dataclass(frozen=True)
class _Columns:
    text: Sequence[str] | None
    price: str
    id: str | None
    title: str | None
    category: str | None

    def item(self, record: dict[str, Any], line: int) -> Item:
        text_fields = self.text or ["text"]
        text = "\n".join(str(record[c]) for c in text_fields if record[c] not in (None, ""))
        if not text.strip():
            raise ValueError(f"text ({', '.join(text_fields)}) is empty")
        title = record.get(self.title or "title") or text.strip().splitlines()[0][:120]
        item_id = record.get(self.id or "id")
        used = {*text_fields, self.price, self.id or "id", self.title or "title"}
        used.add(self.category or "category")
        extras = {k: v for k, v in record.items() if k not in used and k not in _ITEM_FIELDS}
        return Item(
            id=str(item_id) if item_id not in (None, "") else str(line),
            title=str(title),
            text=text,
            price=record.get(self.price),
            category=record.get(self.category or "category") or None,
            split=record.get("split") or None,
            extras=extras,
        )


def _describe(error: ValidationError, price_column: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "item"
    if first["type"] == "value_error":  # our own validators write whole sentences
        message = first["msg"].removeprefix("Value error, ")
    else:
        message = f"{where}: {first['msg']}"
    if where == "price" and price_column != "price":
        message += f" (column {price_column!r})"
    return message


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) of a plain or gzipped file; bad bytes name their line."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as error:
                    raise DataError(
                        f"{path}, line {number}: not valid UTF-8 "
                        f"(byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                    ) from None
                yield number, text
    except (OSError, EOFError, zlib.error) as error:  # a corrupt or truncated gzip stream
        raise DataError(f"{path}, line {number + 1}: cannot read ({error})") from None


def _jsonl_rows(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict]]:
    return read_jsonl(path, _json_object, error=DataError, lines=lines)


def _json_object(text: str | bytes) -> dict:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadLine(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        record = _TOO_DEEP
    if record is _TOO_DEEP or _depth(record) > MAX_DEPTH:
        raise BadLine(f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(record, dict):
        raise BadLine(f"expected a JSON object, got {text[:40]!r}")
    return record


_TOO_DEEP = object()  # what a line nested beyond Python's recursion limit reads as


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value`, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node if isinstance(child, (dict, list)))
    return deepest


def _csv_rows(
    path: Path, lines: Iterator[tuple[int, str]], columns: _Columns
) -> Iterator[tuple[int, dict]]:
    numbers: list[int] = []

    def text_lines() -> Iterator[str]:
        for number, text in lines:
            numbers.append(number)
            yield text

    raise_csv_field_limit()
    reader = csv.DictReader(text_lines())
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise DataError(f"{path}, line 1: bad CSV header ({error})") from None
    if not header:
        return
    first: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in first:
            raise DataError(
                f"{path}, line 1: column {name!r} appears twice (columns {first[name]} and "
                f"{position}); rename one"
            )
        first[name] = position
    wanted = [*(columns.text or ["text"]), columns.price]
    wanted += [c for c in (columns.id, columns.title, columns.category) if c]
    for name in wanted:
        if name not in header:
            raise DataError(f"{path}: no column {name!r} (columns are: {', '.join(header)})")
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}, line {numbers[-1]}: more fields than the header has")
            yield numbers[-1], row
    except csv.Error as error:
        raise DataError(
            f"{path}, line {numbers[-1] if numbers else 1}: bad CSV ({error})"
        ) from None
