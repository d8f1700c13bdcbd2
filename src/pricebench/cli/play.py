"""`pricebench play`: price items yourself, then see your place beside the models."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricebench.cli.common import add_data_options, load_data, slug
from pricebench.compare.paired import run_labels
from pricebench.errors import PricebenchError
from pricebench.items import Item
from pricebench.local.human import TerminalPlayer, write_sheet
from pricebench.metrics import Tolerance
from pricebench.results import Results, find_runs, money
from pricebench.tester import Tester


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "play",
        help="guess prices yourself: the human baseline",
        description=(
            "Show the first N test items one at a time and read your guess for each (q pauses: "
            "the same command continues). Your guesses are a run like any other, in OUT/NAME/, "
            "and at the end you see your place beside the runs in OUT on the same items. "
            "Prefer a spreadsheet? --export writes a blank sheet; fill its guess column and "
            "score it with `pricebench run human:SHEET.csv`."
        ),
    )
    add_data_options(parser)
    parser.add_argument("--size", type=int, default=20, help="items to price (default: 20)")
    parser.add_argument(
        "--out", type=Path, default=Path("results"), help="directory of results (default: results)"
    )
    parser.add_argument("--name", default="human", help="your run's name (default: human)")
    parser.add_argument(
        "--export", type=Path, metavar="CSV", help="write the blank sheet (id,title,text,guess)"
    )
    parser.set_defaults(func=play_command)


def play_command(args: argparse.Namespace) -> int:
    if args.size < 1:
        raise PricebenchError("--size must be at least 1")
    dataset = load_data(args)
    items = dataset.test[: args.size]
    if not items:
        raise PricebenchError(f"{dataset.source}: the test split is empty")
    console = Console(stderr=True, highlight=False)
    if args.export is not None:
        write_sheet(items, args.export)
        console.print(f"wrote {len(items)} items to {args.export}", markup=False)
        return 0
    directory = args.out / slug(args.name)  # never outside --out, as `run` names its runs
    if directory.name != args.name:
        console.print(f"{args.name!r} is written to {directory}", markup=False, soft_wrap=True)
    console.print(
        f"{len(items)} items from {dataset.source}: type your guess, q to pause", markup=False
    )
    results = Tester(
        TerminalPlayer(args.name),
        items,
        out=directory,
        tolerance=Tolerance(),
        verbose=True,
        progress=False,
    ).run()
    if results.header.status == "stopped":  # q: a pause, not a failure
        console.print(
            f"paused after {len(results.records)} of {len(items)} items: the same command "
            "continues",
            markup=False,
            soft_wrap=True,
        )
        return 0
    console.print(results.summary(), markup=False, soft_wrap=True)
    _print_place(results, items, args.out)
    return 0


def _print_place(mine: Results, items: list[Item], out: Path) -> None:
    """Mean error of every run in `out` on exactly the items played, best first."""
    ids = {item.id for item in items}
    runs, means = [], []
    for run in find_runs([out]) if out.is_dir() else []:
        errors = [r.error for r in run.records if r.id in ids and not r.failed]
        if len(errors) == len(ids) and run.header.dataset == mine.header.dataset:
            runs.append(run)
            means.append(sum(errors) / len(errors))  # type: ignore[arg-type]
    # Runs of one pricer name are told apart by their directory, as in `leaderboard`.
    rows = sorted(zip(means, run_labels(runs), strict=True))
    table = Table(title=f"your place on these {len(ids)} items")
    table.add_column("#", justify="right")
    table.add_column("pricer")
    table.add_column("mean error", justify="right")
    for place, (error, name) in enumerate(rows, start=1):
        table.add_row(str(place), escape(name), escape(money(error, mine.header.currency)))
    Console(highlight=False).print(table)
    print("The course's humans: $127 (2024 items), $87.62 on 100 items (2025): other items.")
