"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricebench.data import Dataset, load_dataset
from pricebench.errors import PricebenchError
from pricebench.pipeline.hub import resolve_dataset
from pricebench.results import Results, money

DEFAULT_DATA = Path("../shared/data/course-items.jsonl")


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
    group.add_argument("--id-column", default=None, metavar="NAME")
    group.add_argument(
        "--drop-unpriced",
        action="store_true",
        help="skip rows with an empty price instead of failing",
    )
    group.add_argument(
        "--price-range",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="skip items priced outside LOW..HIGH",
    )
    group.add_argument("--currency", default="USD", help="currency of the prices (default: USD)")
    group.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of the train/test split when the file has none (default: 42)",
    )


def load_data(args: argparse.Namespace) -> Dataset:
    path = args.data
    if path is None:
        if not DEFAULT_DATA.exists():
            raise PricebenchError(f"no --data given and {DEFAULT_DATA} does not exist")
        path = DEFAULT_DATA
    path = resolve_dataset(path)  # a dataset NAME fetched with `pricebench data get`
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
    return load_dataset(path, seed=args.seed, **options)


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


def slug(name: str) -> str:
    """A directory name for a run of the pricer `name`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"


def results_table(runs: Sequence[Results], title: str | None = None) -> Table:
    table = Table(title=title)
    for column in (
        "pricer",
        "mean error [95% CI]",
        "RMSLE",
        "hit rate",
        "priced",
        "failed",
        "cost",
        "status",
    ):
        table.add_column(column, justify="left" if column in ("pricer", "status") else "right")
    for run in sorted(runs, key=lambda r: r.mean_error):
        s, c = run.scores, run.header.currency
        table.add_row(
            escape(run.name),
            f"{money(s.mean_error, c)} [{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}]",
            f"{s.rmsle:.2f}",
            f"{s.hit_rate:.1%}",
            str(run.n_priced),
            str(run.n_failed),
            f"${run.cost:,.4f}",
            run.header.status,
        )
    return table


def print_table(runs: Sequence[Results], title: str | None = None) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=160)
    console.print(results_table(runs, title))
