"""The `pricebench` command line. Each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence

from rich.console import Console
from rich.markup import escape

from pricebench._version import __version__
from pricebench.errors import PricebenchError, PricebenchWarning
from pricebench.redact import redact

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
    "pricebench.cli.models",
)


# The exit codes scripts can rely on (docs/core.md has the same table).
EXIT_OK = 0  # every requested run complete, with at least one item priced
EXIT_INTERNAL = 1  # an unexpected error inside pricebench (a bug): a traceback is printed
EXIT_BAD_INPUT = 2  # bad input or usage: one line saying what and where
EXIT_STOPPED = 3  # a run stopped early: fatal provider error, budget reached, disk full
EXIT_NOTHING_PRICED = 4  # a run finished but every item failed
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; the same command resumes

EXIT_CODES = """exit codes:
  0    every requested run complete, with at least one item priced
  1    unexpected internal error (a bug: a traceback is printed)
  2    bad input or usage (one line naming the file, line or option)
  3    a run stopped early: fatal provider error (auth, quota, model not found, server
       unreachable or failing), budget reached, disk full, or batches not yet collected; its
       status is "stopped", run again to resume (its failed items are priced again)
  4    a run finished but priced nothing (every item failed; the summary says why)
  130  interrupted (Ctrl-C or SIGTERM); run the same command again to resume"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pricebench",
        description="Build, test and compare pricers: programs that estimate a price from text.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pricebench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a scheduler ending a job), ended as Ctrl-C is: the run is marked
    interrupted, its lock let go, and the same command resumes it."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises `Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():  # only it may set handlers
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True, highlight=False)

    def show(
        message: Warning | str, category: type[Warning], *rest: object, **more: object
    ) -> None:
        if issubclass(category, PricebenchWarning):  # one line, not a source location
            console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", soft_wrap=True)
        else:
            shown(message, category, *rest, **more)  # type: ignore[arg-type]

    shown, warnings.showwarning = warnings.showwarning, show
    try:
        with sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except PricebenchError as error:
        console.print(f"[red]error:[/red] {escape(redact(str(error)))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as stop:
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        console.print(f"[yellow]{what}[/yellow]: run the same command again to resume")
        return EXIT_INTERRUPTED
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":
    sys.exit(main())
