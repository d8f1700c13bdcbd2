"""`pricebench tune`: search a pricer's parameters on validation, then run the winner on test."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.cli.common import add_data_options, load_data, parse_params, slug
from pricebench.errors import PricebenchError
from pricebench.tune import METRICS, Uniform, tune


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="tune a pricer's parameters on a validation split, then run the best on test",
        description=(
            "Try each configuration (every combination of the --grid values, plus --n-random "
            "seeded draws from --random), fitting on the training items outside the validation "
            "split and scoring on the validation split. Trials are saved under OUT as they finish; "
            "running the same command again skips them. The best configuration is then fitted "
            "again and run once on the test split."
        ),
    )
    parser.add_argument("spec", metavar="SPEC", help="pricer spec, e.g. bow-lr")
    parser.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="values to try for a parameter (repeatable; all combinations are tried)",
    )
    parser.add_argument(
        "--random",
        action="append",
        metavar="KEY=SPACE",
        help="a parameter to draw: V1,V2,... (a choice), uniform:LOW:HIGH, loguniform:LOW:HIGH "
        "or int:LOW:HIGH (repeatable)",
    )
    parser.add_argument("--n-random", type=int, default=0, help="random draws (with --random)")
    parser.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="a fixed parameter (repeatable)"
    )
    add_data_options(parser)
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="part of train held out for validation when the file has none (default: 0.1)",
    )
    parser.add_argument("--size", type=int, default=None, help="score on N validation items")
    parser.add_argument("--metric", choices=sorted(METRICS), default="mean_error")
    parser.add_argument("--max-trials", type=int, default=None, help="stop after N trials")
    parser.add_argument("--max-calls", type=int, default=None, help="stop after N API calls")
    parser.add_argument("--max-cost", type=float, default=None, help="stop after spending $X")
    parser.add_argument("--workers", type=int, default=1, help="threads pricing at once")
    parser.add_argument(
        "--out", type=Path, default=None, help="tuning directory (default: tuning/<spec>)"
    )
    parser.add_argument("--no-test", action="store_true", help="do not run the winner on test")
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="fit the winner on train without the validation items before the test run",
    )
    parser.add_argument("--test-size", type=int, default=None, help="price N test items")
    parser.set_defaults(func=tune_command)


def tune_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True, highlight=False)
    dataset = load_data(args)
    grid = {key: _values(key, text) for key, text in _pairs(args.grid, "--grid")}
    space = {key: _space(key, text) for key, text in _pairs(args.random, "--random")}
    if args.n_random and not space:
        raise PricebenchError("--n-random needs at least one --random parameter")
    out = args.out or Path("tuning") / slug(args.spec)
    console.print(f"data: {dataset!r}; trials saved in {out}")
    result = tune(
        args.spec,
        dataset,
        grid=grid or None,
        space=space or None,
        n_random=args.n_random,
        fixed=parse_params(args.param),
        seed=args.seed,
        metric=args.metric,
        validation_fraction=args.val_fraction,
        size=args.size,
        out=out,
        max_trials=args.max_trials,
        max_calls=args.max_calls,
        max_cost=args.max_cost,
        workers=args.workers,
        test=not args.no_test,
        refit=not args.no_refit,
        test_size=args.test_size,
    )
    Console(highlight=False, width=160).print(result.table())
    print(result.summary())
    return 0 if result.best is not None else 1


def _pairs(pairs: list[str] | None, option: str) -> list[tuple[str, str]]:
    out = []
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key or not text:
            raise PricebenchError(f"{option} wants KEY=VALUES, got {pair!r}")
        out.append((key.replace("-", "_"), text))
    return out


def _values(key: str, text: str) -> list[Any]:
    return [_value(v) for v in text.split(",")]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _space(key: str, text: str) -> list[Any] | Uniform:
    kind, _, bounds = text.partition(":")
    if kind not in ("uniform", "loguniform", "int"):
        return _values(key, text)
    try:
        low, high = (float(b) for b in bounds.split(":"))
    except ValueError:
        raise PricebenchError(f"--random {key}: wants {kind}:LOW:HIGH, got {text!r}") from None
    if kind == "loguniform" and low <= 0:
        raise PricebenchError(f"--random {key}: loguniform needs LOW > 0")
    return Uniform(low, high, log=kind == "loguniform", integer=kind == "int")
