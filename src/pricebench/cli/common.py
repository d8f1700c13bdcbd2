"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from pricebench.currency import CurrencyError, check_currency
from pricebench.data import Dataset, load_dataset
from pricebench.errors import PricebenchError
from pricebench.pipeline.hub import COURSE_DATASETS, resolve_dataset
from pricebench.redact import redact
from pricebench.results import Results, money

DEFAULT_DATA = Path("../shared/data/course-items.jsonl")
# Outside a checkout that has the course data beside it, say how to get some (one line).
NO_DATA = (
    f"no data: no --data given and {DEFAULT_DATA} (the course data beside a checkout) is not "
    "here. Pass --data PATH (your own JSONL, JSONL.gz or CSV of items with a price), or download "
    f"one of the course's published datasets with `pricebench data get NAME` (NAME: "
    f"{', '.join(COURSE_DATASETS)}; needs pip install 'pricebench[parquet]') and pass "
    "--data NAME"
)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"JSONL, JSONL.gz or CSV file of items, or a dataset fetched with `pricebench data "
        f"get NAME` (default: {DEFAULT_DATA} when it exists)",
    )
    group.add_argument(
        "--text-column",
        action="append",
        dest="text_columns",
        metavar="NAME",
        help="column joined into the item text (repeat for several; CSV)",
    )
    group.add_argument(
        "--price-column",
        default="price",
        metavar="NAME",
        help="column holding the true price (default: price)",
    )
    group.add_argument(
        "--id-column",
        default=None,
        metavar="NAME",
        help="column holding each item's id (default: id when present, else the line number)",
    )
    group.add_argument(
        "--drop-unpriced",
        action="store_true",
        help="skip rows with an empty price instead of failing",
    )
    group.add_argument(
        "--price-range",
        nargs=2,
        type=number(),
        metavar=("LOW", "HIGH"),
        help="skip items priced outside LOW..HIGH",
    )
    group.add_argument(
        "--currency",
        type=currency,
        default="USD",
        help="currency of the prices: an ISO 4217 code or a short symbol (default: USD)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of the train/test split when the file has none (default: 42)",
    )


def currency(text: str) -> str:
    """An argparse `type`: an ISO 4217 code or a short symbol (`pricebench.currency`)."""
    try:
        return check_currency(text)
    except CurrencyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def significance(text: str) -> float:
    """An argparse `type`: a significance level, a finite number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"a level between 0 and 1 (such as 0.05), got {text!r}")
    return value


def number(*, low: float = 0.0, strict: bool = False) -> Any:
    """An argparse `type`: a finite float >= `low` (> `low` when `strict`). NaN and infinity
    would pass a bare `float` and then compare false with everything."""
    need = f"a finite number {'>' if strict else '>='} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{need}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"{need}, got {text!r}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def load_data(args: argparse.Namespace) -> Dataset:
    path = args.data
    if path is None:
        if not DEFAULT_DATA.exists():
            raise PricebenchError(NO_DATA)
        path = DEFAULT_DATA
    try:
        path = resolve_dataset(path)  # a dataset NAME fetched with `pricebench data get`
    except OSError as error:  # a folder on the way that cannot be read
        raise PricebenchError(f"{path}: cannot read it ({error.strerror or error})") from None
    options: dict[str, Any] = {
        "price_column": args.price_column,
        "drop_unpriced": args.drop_unpriced,
    }
    if args.text_columns:
        options["text_columns"] = args.text_columns
    if args.id_column:
        options["id_column"] = args.id_column
    if args.price_range:
        options["price_range"] = tuple(args.price_range)
    return load_dataset(path, seed=args.seed, currency=args.currency, **options)


def parse_params(pairs: Sequence[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` pairs; a VALUE that reads as JSON (numbers, true, lists) is taken as JSON."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PricebenchError(f"--param wants KEY=VALUE, got {pair!r}")
        try:
            params[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            params[key.replace("-", "_")] = value
    return params


MAX_SLUG = 80  # characters: far below any file system's limit on one name


def slug(name: str) -> str:
    """A safe directory or file name for a run of the pricer `name`.

    Credentials are taken out first; the result never starts with a dot (so never `.` or `..`),
    is never empty, and a long name is cut and ends with a hash of the whole name, so that it
    stays unique. The run's `run.json` keeps the full name.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", redact(name)).strip("._-") or "run"
    if len(safe) > MAX_SLUG:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe[: MAX_SLUG - 13].rstrip('._-')}-{digest}"
    return safe


def results_table(
    runs: Sequence[Results], title: str | None = None, compact: bool = False
) -> Table:
    """The runs' summary; `compact` (narrow terminals) puts each interval under its value and
    the failures under the priced count."""
    columns: tuple[str, ...]
    if compact:
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        columns = ("pricer", "mean error\n[95% CI]", "RMSLE", "hits", "priced", "cost", "status")
    else:
        table = Table(title=title)
        columns = (
            "pricer",
            "mean error [95% CI]",
            "RMSLE",
            "hit rate",
            "priced",
            "failed",
            "cost",
            "status",
        )
    for column in columns:
        left = column in ("pricer", "status")
        table.add_column(
            column,
            justify="left" if left else "right",
            no_wrap=not left,
            overflow="fold" if column == "pricer" else "ellipsis",  # names wrap, whole
        )
    if any(run.n_failed for run in runs):
        table.caption = (
            "figures on the priced items only; `pricebench leaderboard` ranks runs with their "
            "failures counted"
        )
    # Runs that priced nothing have no metrics: they go last, saying so instead of "$nan".
    for run in sorted(runs, key=lambda r: (r.n_priced == 0, r.mean_error if r.n_priced else 0)):
        s, c = run.scores, run.header.currency
        priced = run.n_priced > 0 and not math.isnan(s.mean_error)
        ci = s.mean_error_ci
        gap = "\n" if compact else " "
        error = f"{escape(money(s.mean_error, c))}{gap}[{ci.low:,.2f}, {ci.high:,.2f}]"
        if compact:
            counts = [
                f"{run.n_priced}\n{run.n_failed} failed" if run.n_failed else str(run.n_priced)
            ]
        else:
            counts = [str(run.n_priced), str(run.n_failed)]
        table.add_row(
            escape(redact(run.name)),
            error if priced else _nothing_priced(run),
            f"{s.rmsle:.2f}" if priced else "-",
            f"{s.hit_rate:.1%}" if priced else "-",
            *counts,
            run.cost_text(),
            run.header.status,
        )
    return table


def _nothing_priced(run: Results) -> str:
    if run.header.status == "stopped":
        return "stopped before any price"
    return "all items failed" if run.n_failed else "nothing priced"


def print_table(runs: Sequence[Results], title: str | None = None) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=160)
    table = results_table(runs, title)
    if table_width(console, table) > console.width:  # a narrow terminal
        table = results_table(runs, title, compact=True)
    console.print(table)


def table_width(console: Console, table: Table) -> int:
    """Columns `table` takes unsqueezed (rich measures it within the console's width)."""
    return Measurement.get(console, console.options.update_width(100_000), table).maximum
