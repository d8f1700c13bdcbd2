"""`pricebench report`: summary table and charts from saved results."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from pricebench.cli.common import print_table, slug
from pricebench.results import find_runs


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
    if args.charts is not None and not args.no_charts:
        console = Console(stderr=True, highlight=False)
        args.charts.mkdir(parents=True, exist_ok=True)
        for run in runs:
            target = args.charts / f"{slug(run.name)}.png"
            run.chart(target)
            console.print(f"chart: {target}", markup=False)
    if args.html is not None:
        from pricebench.compare.report import html_report

        html_report(runs, args.html, reference=args.reference)
        Console(stderr=True, highlight=False).print(f"report: {args.html}")
    return 0
