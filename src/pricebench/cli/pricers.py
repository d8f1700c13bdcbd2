"""`pricebench pricers`: list the pricer specs this installation knows, with what each is."""

from __future__ import annotations

import argparse

from pricebench.registry import describe


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pricers",
        help="list known pricer specs and how to write them",
        description=(
            "List the pricer specs `run`, `benchmark` and `tune` understand: built-in ones, those "
            "registered by installed packages (entry-point group pricebench.pricers), and the "
            "forms that name your own pricer: path/to/file.py:CLASS or MODULE:CLASS. Any spec "
            "takes parameters for itself alone as SPEC:KEY=VALUE (knn:n_neighbors=5)."
        ),
    )
    parser.set_defaults(func=pricers_command)


def pricers_command(args: argparse.Namespace) -> int:
    rows = describe()
    width = max(len(syntax) for syntax, _ in rows)
    for syntax, description in rows:
        print(f"{syntax:<{width}}  {description}")
    return 0
