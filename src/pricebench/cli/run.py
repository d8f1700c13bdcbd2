"""`pricebench run`: fit pricers on the train split, price the test split, keep the results."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from pricebench.cli import EXIT_NOTHING_PRICED, EXIT_OK, EXIT_STOPPED
from pricebench.cli.common import add_data_options, load_data, parse_params, print_table, slug
from pricebench.errors import PricebenchError
from pricebench.metrics import Tolerance
from pricebench.redact import redact
from pricebench.registry import accepts, make_pricer
from pricebench.results import Results
from pricebench.tester import Tester


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run pricers on a dataset's test split and save their results",
        description=(
            "Fit each pricer on the train split (if it learns), price the test split and write the "
            "results under OUT/<pricer>/ as they come. Running the same command again continues an "
            "unfinished run without pricing any item twice."
        ),
    )
    parser.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="pricer spec, e.g. constant, random (see `pricebench pricers`)",
    )
    add_run_options(parser)
    parser.set_defaults(func=run_command)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of `run`, shared with `benchmark`."""
    add_data_options(parser)
    parser.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="which split to price (default: test)",
    )
    parser.add_argument("--size", type=int, default=None, help="price only the first N items")
    parser.add_argument(
        "--out", type=Path, default=Path("results"), help="directory for results (default: results)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="start over instead of continuing an earlier run"
    )
    parser.add_argument(
        "--retry-failures",
        action="store_true",
        help="when continuing a run, price again the items that failed",
    )
    parser.add_argument("--workers", type=int, default=1, help="threads pricing at once")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds after which an item counts as failed"
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="option passed to every pricer's constructor (repeatable)",
    )
    parser.add_argument(
        "--tolerance",
        nargs=2,
        type=float,
        metavar=("ABS", "REL"),
        default=(40.0, 0.2),
        help="hit if error < ABS or < REL x truth",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="ask API pricers again instead of answering from the response cache",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="another address for the openai: or anthropic: API (a proxy or gateway; it gets "
        "that provider's key); for other servers use openai-compatible:MODEL@URL",
    )
    parser.add_argument(
        "--batch",
        action="store_true",
        help="send the items as provider batch jobs (half price, results within 24 h); "
        "see `pricebench batch`",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print a line per item")


def run_command(args: argparse.Namespace) -> int:
    runs = run_specs(args, args.specs)
    print_table(runs, title=f"{runs[0].header.dataset} ({runs[0].header.n_items} items)")
    return exit_code(runs)


def exit_code(runs: list[Results]) -> int:
    """3 when a run stopped early, else 4 when one priced nothing, else 0 (see `pricebench -h`)."""
    if any(run.header.status == "stopped" for run in runs):
        return EXIT_STOPPED
    if any(run.n_priced == 0 for run in runs):
        return EXIT_NOTHING_PRICED
    return EXIT_OK


def run_specs(args: argparse.Namespace, specs: list[str]) -> list[Results]:
    """Fit and run each spec on the data the options name; the results, in spec order."""
    console = Console(stderr=True, highlight=False)
    dataset = load_data(args)
    items = dataset.test if args.split == "test" else dataset.validation
    if not items:
        raise PricebenchError(f"{dataset.source}: the {args.split} split is empty")
    console.print(f"data: {dataset!r}")
    params = parse_params(args.param)
    runs = []
    for spec in specs:
        options = dict(params)
        if args.no_cache and accepts(spec, "cache"):
            options["cache"] = False
        if args.base_url and accepts(spec, "base_url"):
            options["base_url"] = args.base_url
        pricer = make_pricer(spec, **options)
        fit_seconds = None
        if hasattr(pricer, "fit"):
            console.print(
                f"fitting {pricer.name} on {len(dataset.train)} training items", markup=False
            )
            began = time.perf_counter()
            pricer.fit(dataset.train)
            fit_seconds = round(time.perf_counter() - began, 3)
        tester = Tester(
            pricer,
            items,
            size=args.size,
            tolerance=Tolerance(*args.tolerance),
            workers=args.workers,
            timeout=args.timeout,
            out=run_directory(args.out, pricer.name, console),
            overwrite=args.overwrite,
            retry_failures=args.retry_failures,
            mode="batch" if args.batch else "interactive",
            dataset=f"{dataset.source}#{args.split}",
            currency=args.currency,
            verbose=args.verbose,
            fit_seconds=fit_seconds,
        )
        results = tester.run()
        console.print(results.summary(), markup=False, soft_wrap=True)
        runs.append(results)
    return runs


def run_directory(out: Path, name: str, console: Console) -> Path:
    """`OUT/<safe name>`: a pricer's name never leads outside `out`; a changed name is shown."""
    directory = out / slug(name)
    if directory.name != name:
        shown = redact(name)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        console.print(f"{shown!r} is written to {directory}", markup=False, soft_wrap=True)
    return directory
