"""The `pricebench` command line. Each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from pricebench._version import __version__
from pricebench.errors import PricebenchError

# Modules with an `add_parser(subparsers)` function, one per subcommand (or group of them).
COMMANDS = (
    "pricebench.cli.run",
    "pricebench.cli.benchmark",
    "pricebench.cli.batch",
    "pricebench.cli.report",
    "pricebench.cli.pricers",
    "pricebench.cli.play",
    "pricebench.cli.leaderboard",
    "pricebench.cli.finetune",
    "pricebench.cli.tune",
    "pricebench.cli.data",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pricebench",
        description="Build, test and compare pricers: programs that estimate a price from text.",
    )
    parser.add_argument("--version", action="version", version=f"pricebench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True, highlight=False)
    try:
        return int(args.func(args) or 0)
    except PricebenchError as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]: run the same command again to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
