"""`pricebench benchmark`: every built-in local pricer on one dataset, then the leaderboard."""

from __future__ import annotations

import argparse

from pricebench.cli.leaderboard import print_leaderboard
from pricebench.cli.run import add_run_options, exit_code, run_specs
from pricebench.compare.paired import leaderboard

# The course's baselines in its order, then the stronger local pricers. No API key needed.
DEFAULT_SPECS = (
    "random",
    "constant",
    "feature-lr",
    "bow-lr",
    "w2v-lr",
    "svr",
    "random-forest",
    "gbm",
    "nn",
    "knn",
    "local-best",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="run every built-in local pricer on a dataset and rank them",
        description=(
            "Fit each pricer on the train split, price the test split, write the results under "
            "OUT/<pricer>/ (an unfinished run continues) and print the leaderboard with paired "
            f"tests against the best. Default pricers: {' '.join(DEFAULT_SPECS)}."
        ),
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        default=list(DEFAULT_SPECS),
        help="pricer specs to run instead of the default set",
    )
    add_run_options(parser)
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also print the course's published leaderboards (measured on the course's data)",
    )
    parser.set_defaults(func=benchmark_command)


def benchmark_command(args: argparse.Namespace) -> int:
    runs = run_specs(args, args.specs)
    print_leaderboard(leaderboard(runs), reference=args.reference)
    return exit_code(runs)
