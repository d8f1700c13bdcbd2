"""The human baseline: you, guessing prices, scored like any pricer.

`pricebench play` shows one item at a time in the terminal and reads your guess (`TerminalPlayer`);
`HumanPricer` scores a CSV of guesses (`id,guess`) filled in a spreadsheet, whose blank sheet
`write_sheet` writes. The course collected its human baseline ($127 on 2024's items, $87.62 on 100
items in 2025) the CSV way.
"""

from __future__ import annotations

import csv
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from pricebench.errors import DataError, PricerError, StopRun
from pricebench.files import raise_csv_field_limit
from pricebench.items import Item
from pricebench.pricer import BasePricer

QUIT = frozenset({"q", "quit", "exit"})


class Paused(StopRun):  # noqa: N818 - a signal, as StopRun is
    """The player stopped (q or end of input): the run keeps what was guessed and is marked
    stopped, so that the same command continues it."""


def read_guess(text: str) -> float | None:
    """A guess typed by a person ("$1,299.99", "25"), or None when it is not a positive number."""
    cleaned = text.strip().lstrip("$£€").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


class TerminalPlayer:
    """A pricer that asks a person: shows the item, reads a guess, asks again on bad input.

    Typing q (or end of input) pauses the game (`Paused`): the run keeps every guess so far and
    the same command continues where it stopped.
    """

    def __init__(
        self,
        name: str = "human",
        *,
        ask: Callable[[str], str] = input,
        show: Callable[[str], None] = print,
        width: int = 78,
        max_text: int = 600,
    ) -> None:
        self.name = name
        self.ask = ask
        self.show = show
        self.width = width
        self.max_text = max_text

    def predict(self, item: Item) -> float:
        self.show("")
        self.show(textwrap.fill(item.title, self.width))
        body = item.text.removeprefix(item.title).strip()
        if body:
            short = textwrap.shorten(body, self.max_text, placeholder=" ...")
            self.show(textwrap.indent(textwrap.fill(short, self.width - 2), "  "))
        while True:
            try:
                answer = self.ask("your guess (q to pause): ")
            except EOFError:
                raise Paused("paused by the player (end of input)") from None
            if answer.strip().lower() in QUIT:
                raise Paused("paused by the player (q)")
            guess = read_guess(answer)
            if guess is not None:
                return guess
            self.show("a price, please: a positive number such as 24.99 (or q to pause)")


class HumanPricer(BasePricer):
    """Guesses read from a CSV file with columns `id` and `guess` (as `write_sheet` writes it).

    An item without a guess in the file fails (it is not scored as $0). `item_ids` are the
    sheet's items, blank ones included: `pricebench run human:SHEET.csv` prices those only.
    """

    def __init__(self, guesses: str | Path, name: str = "human-sheet") -> None:
        self.guesses = str(guesses)
        self.name = name
        self._table = read_sheet(Path(guesses))
        self.item_ids = sheet_ids(Path(guesses))

    def predict(self, item: Item) -> float:
        guess = self._table.get(item.id)
        if guess is None:
            raise PricerError(f"{self.guesses}: no guess for item {item.id}")
        return guess


def read_sheet(path: Path) -> dict[str, float]:
    """id -> guess from a filled sheet; blank guesses are left out, bad ones name their line."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as file:
        raise_csv_field_limit()
        rows = csv.DictReader(file)
        missing = {"id", "guess"} - set(rows.fieldnames or [])
        if missing:
            raise DataError(f"{path}: needs columns id and guess (missing: {', '.join(missing)})")
        table = {}
        for number, row in enumerate(rows, start=2):
            text = (row.get("guess") or "").strip()
            if not text:
                continue
            guess = read_guess(text)
            if guess is None:
                raise DataError(f"{path}, line {number}: guess {text!r} is not a positive number")
            table[uncell(str(row["id"]))] = guess
    return table


def sheet_ids(path: Path) -> list[str]:
    """Every item id of a sheet, in its order, with or without a guess."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        return [uncell(str(row["id"])) for row in csv.DictReader(file) if row.get("id")]


# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """`text` safe to open in a spreadsheet: a leading ' when it would start a formula (OWASP's
    advice: `=HYPERLINK(...)` in a product title must stay text). `read_sheet` takes it off ids.
    Text that already starts with quotes before a formula (an id `'=x`) gets one more, so that
    `uncell` gives it back whole."""
    return f"'{text}" if text.lstrip("'").startswith(FORMULA_STARTS) else text


def uncell(text: str) -> str:
    """The value `cell` wrote: its ' taken off again."""
    quoted = text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS)
    return text[1:] if quoted else text


def write_sheet(items: Sequence[Item], path: str | Path, max_text: int = 600) -> Path:
    """A blank sheet to fill: id, title, text (shortened), and an empty guess column. Cells that
    a spreadsheet would run as formulas are written as text (`cell`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "title", "text", "guess"])
        for item in items:
            body = " ".join(item.text.removeprefix(item.title).split())
            text = textwrap.shorten(body, max_text) if body else ""
            writer.writerow([cell(item.id), cell(item.title), cell(text), ""])
    return path
