"""`pricebench batch status|collect|cancel RUN`: look after a run sent with `run --batch`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pricebench.cli.common import parse_params
from pricebench.registry import make_pricer
from pricebench.results import read_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="status, collect or cancel a run's provider batches (see `run --batch`)",
        description=(
            "A run made with `pricebench run SPEC --batch` keeps its batch ids under RUN/batch/. "
            "These commands carry on with it from any machine with the API key: `status` asks "
            "the provider how far each batch is, `collect` waits for them and writes their "
            "results into the run, `cancel` stops them (finished work is still collected)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (
        ("status", status_command, "show each batch's status and request counts"),
        ("collect", collect_command, "wait for the batches and write their results into RUN"),
        ("cancel", cancel_command, "cancel the batches still running"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("run", type=Path, metavar="RUN", help="the run directory")
        action.add_argument(
            "--spec", default=None, help="pricer spec, if not the run's pricer name"
        )
        action.add_argument(
            "--param",
            action="append",
            metavar="KEY=VALUE",
            help="option for the pricer's constructor, as in `pricebench run` (repeatable)",
        )
        action.set_defaults(func=func)
        if name == "status":
            action.add_argument(
                "--local", action="store_true", help="show the saved state without asking"
            )
        if name == "collect":
            action.add_argument(
                "--no-wait",
                action="store_true",
                help="collect the batches that have ended and return at once",
            )
            action.add_argument(
                "--poll", type=float, default=30.0, help="seconds between checks (default: 30)"
            )


def _pricer(args: argparse.Namespace) -> Any:
    """The run's pricer again, from its name (a spec) and the settings that change reading."""
    from pricebench.batch import read_state

    state = read_state(args.run)
    header = read_run(args.run).header
    options = {k: header.params[k] for k in ("structured",) if k in header.params}
    options.update(parse_params(args.param))
    return make_pricer(args.spec or state.pricer, **options)


def status_command(args: argparse.Namespace) -> int:
    from pricebench.batch import read_state, refresh_status

    state = read_state(args.run) if args.local else refresh_status(_pricer(args), args.run)
    run = read_run(args.run)
    table = Table(title=f"{state.pricer} batches in {args.run}")
    for column in ("#", "batch id", "status", "requests", "counts", "collected"):
        table.add_column(column)
    for job in state.jobs:
        counts = ", ".join(f"{k} {v:,}" for k, v in job.counts.items() if v)
        table.add_row(
            str(job.index),
            job.batch_id or "(not sent)",
            (job.status or "-") + (f" ({job.note})" if job.note else ""),
            f"{job.n_requests:,}",
            counts,
            "yes" if job.collected else "no",
        )
    Console(highlight=False).print(table)
    print(
        f"run: {run.n_priced} priced, {run.n_failed} failed of {run.header.n_items} items "
        f"({run.header.status})"
    )
    return 0


def collect_command(args: argparse.Namespace) -> int:
    from pricebench.batch import with_options
    from pricebench.cli.run import exit_code
    from pricebench.tester import Tester

    header = read_run(args.run).header
    pricer = with_options(_pricer(args), wait=not args.no_wait, poll_interval=args.poll)
    results = Tester.resume(args.run, pricer, mode="batch").run()
    print(results.summary())
    if results.failures:
        print(
            f"{results.n_failed} item(s) failed; price them interactively with `pricebench run "
            f"{header.pricer} --retry-failures` (same data and --out)"
        )
    return exit_code([results])


def cancel_command(args: argparse.Namespace) -> int:
    from pricebench.batch import cancel_batches

    cancelled = cancel_batches(_pricer(args), args.run)
    console = Console(stderr=True, highlight=False)
    if not cancelled:
        console.print("no batch was still running")
        return 0
    console.print(
        f"cancelling {', '.join(cancelled)}; run `pricebench batch collect {args.run}` for the "
        "results they finished"
    )
    return 0
