"""`pricebench report`: summary table and charts from saved results."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricebench.cli.common import print_table, slug
from pricebench.compare.charts import cost_chart, has_paid_runs
from pricebench.compare.groups import category_table
from pricebench.compare.paired import Board, leaderboard, run_labels
from pricebench.results import Results, find_runs, money


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="summarise saved results and draw their charts",
        description="Read run directories (or a directory of them) and print a summary table; "
        "with --charts DIR, also write each run's chart (truth vs guess, running error) as a PNG "
        "there, and with --html FILE one self-contained page. Nothing is written into the run "
        "directories.",
    )
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        metavar="RESULTS",
        help="a run directory, or a directory holding run directories",
    )
    parser.add_argument(
        "--charts",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each run's chart here as <pricer>.png (default: no PNG files)",
    )
    # The default since charts stopped going into every run directory; kept for old scripts.
    parser.add_argument("--no-charts", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write one self-contained HTML page: leaderboard, charts, worst items, failures",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="with --html: add the course's published leaderboards (not measured on your data)",
    )
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    runs = find_runs(args.results)
    print_table(runs)
    board = leaderboard(runs)
    for b in board:
        print_category_table(b)
    if args.charts is not None and not args.no_charts:
        console = Console(stderr=True, highlight=False)
        args.charts.mkdir(parents=True, exist_ok=True)
        names = chart_names(runs)
        for run, name in zip(runs, names, strict=True):
            target = args.charts / name
            run.chart(target)
            console.print(f"chart: {target}", markup=False)
        for number, b in enumerate(board, start=1):
            if b.best is None or not has_paid_runs(b):  # all at $0: nothing to draw
                continue
            stem = "cost" if number == 1 else f"cost-{number}"
            while f"{stem}.png" in names:  # a run named "cost" keeps its own chart
                stem = f"_{stem}"
            cost_chart(b, args.charts / f"{stem}.png")
            console.print(f"chart: {args.charts / f'{stem}.png'}", markup=False)
    if args.html is not None:
        from pricebench.compare.report import html_report

        html_report(runs, args.html, reference=args.reference)
        Console(stderr=True, highlight=False).print(f"report: {args.html}")
    return 0


def print_category_table(board: Board) -> None:
    """Mean error per category [95% CI] of each run on `board`, when its items have categories."""
    rows = category_table([row.run for row in board.rows])
    if not rows:
        return
    table = Table(
        title=escape(f"mean error per category: {board.dataset or board.fingerprint}"),
        caption="every item asked; a failure counts as the fallback guess",
    )
    table.add_column("category", overflow="fold")
    for row in board.rows:
        table.add_column(escape(row.label), justify="right", overflow="fold")
    for category, scores in rows:
        cells = [
            ""
            if s is None
            else f"{money(s.mean_error, board.currency)} [{s.mean_error_ci.low:,.2f}, "
            f"{s.mean_error_ci.high:,.2f}] n={s.n}"
            for s in scores
        ]
        table.add_row(escape(category), *(escape(cell) for cell in cells))
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    console.print(table)


def chart_names(runs: list[Results]) -> list[str]:
    """A PNG file name for each run, never the same for two: the pricer's name, with the run's
    directory where two runs share a name (and a number where even that is shared)."""
    names: list[str] = []
    for label in run_labels(runs):
        stem = slug(label)
        name, number = f"{stem}.png", 2
        while name in names:
            name, number = f"{stem}-{number}.png", number + 1
        names.append(name)
    return names
