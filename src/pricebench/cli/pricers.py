"""`pricebench pricers`: list the pricer specs this installation knows."""

from __future__ import annotations

import argparse

from pricebench.registry import available


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pricers", help="list known pricer specs")
    parser.set_defaults(func=lambda args: print("\n".join(available())) or 0)
