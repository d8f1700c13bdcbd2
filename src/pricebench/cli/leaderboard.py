"""`pricebench leaderboard` (rank saved runs per dataset) and `pricebench compare` (test A vs B)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricebench.cli.common import significance, table_width
from pricebench.compare.paired import Board, Leaderboard, Row, compare, leaderboard
from pricebench.compare.reference import (
    NOT_MEASURED,
    ReferenceBoard,
    reference_boards,
    same_data_board,
)
from pricebench.metrics import Scores
from pricebench.results import HEADER_FILE, find_runs, read_run
from pricebench.results import money as plain_money

DEFAULT_RESULTS = Path("results")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard",
        help="rank saved runs by mean error, with 95%% CIs and paired tests",
        description=(
            "Rank the runs under RESULTS_DIR by mean absolute error, one table per set of "
            "evaluated items (runs on different items are never ranked together). Each run is "
            "tested against the best one on the items both priced; 'worse' marks a significant "
            "difference."
        ),
    )
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        metavar="RESULTS_DIR",
        help="run directories, or directories holding them (default: results; with "
        "--reference and no results yet, the course's tables alone)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=None,
        metavar="PNG",
        help="write the bar chart with CI whiskers here (one file per table: -2, -3... added)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also print the course's published leaderboards (not measured on your data)",
    )
    parser.add_argument(
        "--alpha", type=significance, default=0.05, help="significance level (default: 0.05)"
    )
    parser.set_defaults(func=leaderboard_command)

    parser = subparsers.add_parser(
        "compare",
        help="test whether two saved runs differ in mean error (paired tests)",
        description=(
            "Compare two runs on the items both priced: the mean difference in absolute error "
            "with its paired bootstrap 95% CI and p-value, a sign test and a Wilcoxon test."
        ),
    )
    parser.add_argument("a", type=Path, metavar="RUN_A", help="a run directory")
    parser.add_argument("b", type=Path, metavar="RUN_B", help="another run directory")
    parser.add_argument(
        "--alpha", type=significance, default=0.05, help="significance level (default: 0.05)"
    )
    parser.set_defaults(func=compare_command)


def leaderboard_command(args: argparse.Namespace) -> int:
    messages = Console(stderr=True, highlight=False)
    if not args.results and args.reference and not _holds_runs(DEFAULT_RESULTS):
        # A first look before any run: the course's own figures are still worth showing.
        messages.print(
            f"no runs in {DEFAULT_RESULTS}/ yet: showing the course's published figures only",
            markup=False,
        )
        print_leaderboard(Leaderboard(), reference=True)
        if args.chart is not None:
            from pricebench.compare.charts import reference_chart

            args.chart.parent.mkdir(parents=True, exist_ok=True)
            reference_chart(args.chart)
            messages.print(f"chart: {args.chart}", markup=False)
        return 0
    board = leaderboard(find_runs(args.results or [DEFAULT_RESULTS]), alpha=args.alpha)
    print_leaderboard(board, reference=args.reference)
    if args.chart is not None:
        from pricebench.compare.charts import leaderboard_chart

        for number, b in enumerate(board, start=1):
            if b.best is None:
                continue
            target = args.chart
            if number > 1:
                target = target.with_name(f"{target.stem}-{number}{target.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            leaderboard_chart(b, target, reference=args.reference)
            messages.print(f"chart: {target}")
    return 0


def _holds_runs(path: Path) -> bool:
    return (path / HEADER_FILE).is_file() or any(path.glob(f"*/{HEADER_FILE}"))


def print_leaderboard(board: Leaderboard, reference: bool = False) -> None:
    """Print each board of a leaderboard (and the course's published ones, if asked) as a table."""
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=200)
    shown_beside: set[str] = set()  # editions shown as same-data figures
    # One layout for the whole output: the narrow one for every board when any wide one would
    # not fit (a mix of both in one screen reads as two different commands).
    compact = any(table_width(console, board_table(b)) > console.width for b in board)
    for b in board:
        console.print(compact_board_table(b) if compact else board_table(b))
        same = same_data_board(b.dataset, b.fingerprint, b.n_items) if reference else None
        if same is not None and same[0].currency == b.currency:
            console.print(reference_table(*same))
            shown_beside.add(same[0].edition)
    if reference:
        for ref in reference_boards():
            if ref.edition not in shown_beside:
                console.print(reference_table(ref))


def compare_command(args: argparse.Namespace) -> int:
    a, b = (read_run(path) for path in (args.a, args.b))
    print(compare(a, b, alpha=args.alpha).summary(a.header.currency))
    return 0


def board_table(board: Board) -> Table:
    c = board.currency
    table = Table(
        title=escape(
            f"{board.dataset or '(unnamed data)'}: {board.n_items} items [{board.fingerprint}]"
        ),
        caption=_caption(board),
    )
    table.add_column("#", justify="right")
    table.add_column("pricer", overflow="fold")  # long ensemble names wrap, numbers do not
    for column in ("mean error [95% CI]", "RMSLE [95% CI]", "hit rate [95% CI]", "priced"):
        table.add_column(column, justify="right", no_wrap=True)
    for column in ("cost", "time", "vs best [95% CI]", "p"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("")
    for row in board.rows:
        s, v = row.scores, row.vs_best
        seconds = row.seconds
        table.add_row(
            "-" if row.rank is None else str(row.rank),
            _label(row),
            *_figures(s, c),
            row.coverage,
            escape(row.run.cost_text()),
            "" if seconds is None else f"{seconds:,.1f} s",
            "" if v is None else f"{v.difference:+,.2f} [{v.ci.low:+,.2f}, {v.ci.high:+,.2f}]",
            "" if v is None else f"{v.p_value:.3g}",
            _verdict(board, row),
        )
    return table


def _label(row: Row) -> str:
    """The pricer's name, and its note under it (where it folds, so it never widens the table).
    Names and notes come from the runs and may hold brackets, which rich reads as markup."""
    return escape(row.label) + (f"\n[dim]{escape(row.note)}[/dim]" if row.note else "")


def _figures(s: Scores | None, currency: str, compact: bool = False) -> list[str]:
    """Mean error, RMSLE and hit rate, escaped; intervals under the mean error alone when
    `compact`; blank for a row that is not ranked."""
    if s is None:
        return ["", "", ""]
    ci = s.mean_error_ci
    if compact:
        figures = [
            f"{plain_money(s.mean_error, currency)}\n[{ci.low:,.2f}, {ci.high:,.2f}]",
            f"{s.rmsle:.2f}",
            f"{s.hit_rate:.1%}",
        ]
    else:
        figures = [
            f"{plain_money(s.mean_error, currency)} [{ci.low:,.2f}, {ci.high:,.2f}]",
            f"{s.rmsle:.2f} [{s.rmsle_ci.low:.2f}, {s.rmsle_ci.high:.2f}]",
            f"{s.hit_rate:.1%} [{s.hit_rate_ci.low:.1%}, {s.hit_rate_ci.high:.1%}]",
        ]
    return [escape(figure) for figure in figures]


def _verdict(board: Board, row: Row) -> str:
    if row.rank is None:
        return "not ranked"
    return "[red]worse[/red]" if row.worse_than_best else ("best" if row is board.best else "")


def _caption(board: Board) -> str | None:
    if not any(row.run.n_failed or row.rank is None for row in board.rows):
        return None
    # Short: rich counts a caption's width when it measures the table.
    return "ranked on every item asked, a failure counted as the training mean (docs/compare.md)"


def compact_board_table(board: Board) -> Table:
    """The board for a narrow terminal (80 columns): intervals under their value, RMSLE and hit
    rate without intervals, no cost or time columns (`pricebench report --html` has them all)."""
    c = board.currency
    caption = f"data {board.fingerprint}; a wider terminal shows every column"
    if _caption(board):
        caption += f"; {_caption(board)}"
    table = Table(
        title=escape(f"{board.dataset or '(unnamed data)'}: {board.n_items} items"),
        caption=escape(caption),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("#", justify="right")
    table.add_column("pricer", overflow="fold", ratio=1)
    table.add_column("mean error\n[95% CI]", justify="right", no_wrap=True)
    table.add_column("RMSLE", justify="right", no_wrap=True)
    table.add_column("hits", justify="right", no_wrap=True)
    table.add_column("priced", justify="right", no_wrap=True)
    table.add_column("vs best\np", justify="right", no_wrap=True)
    table.add_column("")
    for row in board.rows:
        s, v = row.scores, row.vs_best
        table.add_row(
            "-" if row.rank is None else str(row.rank),
            _label(row),
            *_figures(s, c, compact=True),
            row.coverage,
            "" if v is None else f"{v.difference:+,.2f}\np {v.p_value:.2g}",
            # The caption says how failures count; "priced" says how many there were.
            _verdict(board, row),
        )
    return table


def reference_table(ref: ReferenceBoard, same_data_repo: str | None = None) -> Table:
    """A published table: apart, as NOT measured on your data; or, given the dataset it was
    measured on (`same_data_repo`), as the same-data figures for the table above it."""
    same = same_data_repo is not None
    table = Table(
        title=escape(
            ref.same_data_title(same_data_repo)
            if same_data_repo is not None
            else f"Course {ref.edition} edition: {NOT_MEASURED}"
        ),
        caption=escape(f"{ref.dataset}; N = {ref.n} ({ref.note})"),
        title_style="bold green" if same else "bold yellow",
    )
    for column in ("pricer", "mean error", "RMSLE", "hit rate", "N"):
        table.add_column(column, justify="left" if column == "pricer" else "right")
    for row in ref.sorted_rows():
        table.add_row(
            escape(row.pricer),
            money(row.mean_error, ref.currency),
            "" if row.rmsle is None else f"{row.rmsle:.2f}",
            "" if row.hit_rate is None else f"{row.hit_rate:.1%}",
            str(row.n or ref.n),
        )
    return table


def money(amount: float, currency: str) -> str:
    """An amount with its currency, escaped for the tables' markup: runs come from anywhere."""
    return escape(plain_money(amount, currency))
