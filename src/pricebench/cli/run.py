"""`pricebench run`: fit pricers on the train split, price the test split, keep the results."""

from __future__ import annotations

import argparse
import functools
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.chat.budget import Budget, dollars
from pricebench.cli import EXIT_NOTHING_PRICED, EXIT_OK, EXIT_STOPPED
from pricebench.cli.common import (
    add_data_options,
    load_data,
    number,
    parse_params,
    print_table,
    slug,
)
from pricebench.errors import DataError, PricebenchError
from pricebench.items import Item, ItemSet
from pricebench.metrics import Tolerance
from pricebench.pricer import Pricer, learns
from pricebench.redact import redact
from pricebench.registry import accepts, make_pricer, parse_spec
from pricebench.results import HEADER_FILE, Results, read_run, run_mismatch
from pricebench.tester import MAX_GUESS, Resume, Tester


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
        help="pricer spec: constant, local-best, gpt-4o-mini, knn:n_neighbors=5, "
        "path/to/mine.py:MyPricer... (see `pricebench pricers`)",
    )
    add_run_options(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what each API pricer's calls would cost for the items, and stop there "
        "(nothing is fitted, written or paid for)",
    )
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
    parser.add_argument(
        "--workers", type=int, default=1, help="threads pricing at once (default: 1)"
    )
    parser.add_argument(
        "--timeout",
        type=number(strict=True),
        default=None,
        help="seconds after which an item counts as failed (default: no limit)",
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="option passed to every pricer's constructor (repeatable); for one pricer only, "
        "write it in its spec: SPEC:KEY=VALUE",
    )
    parser.add_argument(
        "--max-guess",
        type=number(strict=True),
        default=MAX_GUESS,
        metavar="PRICE",
        help="a guess above this is a failure, not a score (default: %(default)g)",
    )
    parser.add_argument(
        "--tolerance",
        nargs=2,
        type=number(),
        metavar=("ABS", "REL"),
        default=(40.0, 0.2),
        help="hit if error < ABS (in the data's currency) or < REL x truth (default: 40 0.2)",
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
    parser.add_argument(
        "--max-cost",
        type=number(strict=True),
        default=None,
        metavar="USD",
        help="the most this command may spend, across every pricer it runs: no call starts that "
        "could pass it (each counts its whole max_tokens); the runs stop cleanly and resume with "
        "a higher cap",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print a line per item")


def run_command(args: argparse.Namespace) -> int:
    runs = run_specs(args, args.specs)
    if not runs:  # --dry-run: the estimates are printed
        return EXIT_OK
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
    """Fit and run each spec on the data the options name; the results, in spec order.

    Every spec is built first (a typo fails before any data is read or model fitted), and each run
    directory is checked before its pricer is fitted: a complete run is taken as it is, and one
    that would be refused (other pricer, data or parameters) is refused before the fit.
    """
    console = Console(stderr=True, highlight=False)
    params = parse_params(args.param)
    pricers = [(spec, _make(spec, params, args)) for spec in specs]
    budget = _run_budget(args, [pricer for _, pricer in pricers])
    dataset = load_data(args)
    items = dataset.test if args.split == "test" else dataset.validation
    if not items:
        raise PricebenchError(f"{dataset.source}: the {args.split} split is empty")
    if getattr(args, "dry_run", False):
        chosen = items[: args.size] if args.size is not None else items
        _dry_run(pricers, chosen, dataset, batch=args.batch)
        return []
    learners = [spec for spec, pricer in pricers if learns(pricer)]
    if learners and not dataset.train:  # refused before any run directory is written
        # hf: pricers learn only their ceiling, which can be given instead
        ceiling = any(hasattr(pricer, "max_price") for _, pricer in pricers if learns(pricer))
        raise DataError(
            f"{dataset.source}: no training items (no item has split 'train'), and "
            f"{', '.join(learners)} learn from them: add train items, or drop the split field "
            "so that the items are split at random"
            + (" (or give hf: pricers their ceiling, --param max_price=N)" if ceiling else "")
        )
    console.print(f"data: {dataset!r}", markup=False, soft_wrap=True)
    runs = []
    for position, (spec, pricer) in enumerate(pricers, start=1):
        if len(pricers) > 1:  # where the job is: which pricer of how many
            console.print(f"[{position}/{len(pricers)}] {spec}", markup=False, soft_wrap=True)
        out = run_directory(args.out, spec, pricer, console)
        tester = Tester(
            pricer,
            _items_for(pricer, items),
            size=args.size,
            tolerance=Tolerance(*args.tolerance),
            out=out,
            resume=resume_policy(args),
            workers=args.workers,
            timeout=args.timeout,
            mode="batch" if args.batch else "interactive",
            verbose=args.verbose,
            max_guess=args.max_guess,
        )
        done = None if args.overwrite else _check_run_directory(out, tester, args, dataset.train)
        if done is not None:
            console.print(
                f"{out}: complete ({done.n_priced} priced, {done.n_failed} failed); not run again "
                "(--overwrite starts over, --retry-failures prices failures again)",
                markup=False,
                soft_wrap=True,
            )
            runs.append(done)
            continue
        if args.split == "test" and dataset.validation and _stacks(pricer):
            # The stacking items must be ones no member learned from: a fine-tuned member
            # learned from all of train, so out-of-fold guesses on train would flatter it.
            pricer.fit = functools.partial(pricer.fit, validation=dataset.validation)  # type: ignore[attr-defined]
            console.print(
                f"{spec}: weights fitted on the {len(dataset.validation)} validation items",
                markup=False,
                soft_wrap=True,
            )
        results = tester.run(fit_on=dataset.train)
        console.print(results.summary(), markup=False, soft_wrap=True)
        if results.paid:
            console.print(f"  {results.usage_text()}", markup=False, soft_wrap=True)
        runs.append(results)
    if budget is not None:
        console.print(
            f"spent {dollars(budget.cost)} of --max-cost {dollars(budget.max_cost or 0.0)} "
            f"({budget.calls} paid calls)",
            markup=False,
        )
    return runs


def _run_budget(args: argparse.Namespace, pricers: list[Pricer]) -> Budget | None:
    """The one budget of every API pricer of the run (--max-cost), or None."""
    max_cost = getattr(args, "max_cost", None)
    if max_cost is None:
        return None
    if args.batch:
        raise PricebenchError(
            "--max-cost checks each call before it is sent, and a batch job's calls are sent at "
            "once: drop --batch to cap the spend (--dry-run estimates it either way)"
        )
    paying = [pricer for pricer in pricers if hasattr(pricer, "spend_from")]
    if not paying:
        raise PricebenchError(
            "--max-cost applies to API pricers (openai:, anthropic:, openai-compatible:), and "
            "none of these pays per call"
        )
    budget = Budget(max_cost=max_cost)
    for pricer in paying:
        pricer.spend_from(budget)  # a model with no known price is refused here
    return budget


def _dry_run(
    pricers: list[tuple[str, Pricer]], items: Sequence[Item], dataset: Any, *, batch: bool
) -> None:
    """Print each API pricer's estimated cost for `items` (at batch prices with `batch`), and
    the total, on stdout."""
    from pricebench.chat.base import ChatPricer  # the SDK-side modules, only when asked
    from pricebench.chat.estimate import dollars, estimate_run

    expected, ceiling, known = 0.0, 0.0, True
    for spec, pricer in pricers:
        if not isinstance(pricer, ChatPricer):
            print(f"{spec}: no per-call cost (runs here)")
            continue
        if pricer.learns:  # a retrieval context renders from its fitted index
            pricer.fit(dataset.train)
        estimate = estimate_run(pricer, items, batch=batch)
        print(estimate.line())
        if estimate.expected is None or estimate.ceiling is None:
            known = False
        else:
            expected += estimate.expected
            ceiling += estimate.ceiling
    if known:
        prices = " at batch prices" if batch else ""
        print(
            f"total for {len(items)} items{prices}: about {dollars(expected)}, "
            f"at most {dollars(ceiling)}"
        )


def _stacks(pricer: Pricer) -> bool:
    """A pricer that fits stacking weights and can fit them on validation items (`Ensemble`)."""
    fit = getattr(pricer, "fit", None)
    if getattr(pricer, "method", None) != "stack" or fit is None:
        return False
    return "validation" in inspect.signature(fit).parameters


def run_directory(out: Path, spec: str, pricer: Pricer, console: Console | None = None) -> Path:
    """The folder of a run under --out: the pricer's name, or the spec as typed when that says
    more (a pricer from a file or module, or parameters given in the spec). It never leads
    outside --out; a name that had to change is shown."""
    parsed = parse_spec(spec)
    name = pricer.name if parsed.kind == "name" and not parsed.params else parsed.label
    directory = out / slug(name)
    plain = name.replace(":", "_")  # "openai:gpt-5.4-mini" -> "openai_gpt-5.4-mini" needs no word
    if console is not None and directory.name != plain:  # changed for safety: say so
        shown = redact(name)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        console.print(f"{shown!r} is written to {directory}", markup=False, soft_wrap=True)
    return directory


def _make(spec: str, params: dict[str, Any], args: argparse.Namespace) -> Pricer:
    options = dict(params)
    if getattr(args, "dry_run", False) and accepts(spec, "client"):
        from pricebench.cli.models import _OFFLINE  # no key needed: nothing is sent

        options.setdefault("client", _OFFLINE)
    if args.no_cache and accepts(spec, "cache"):
        options["cache"] = False
    if args.base_url:
        # openai-compatible: names its own address; local pricers have none.
        if parse_spec(spec).name == "openai-compatible" or not accepts(spec, "base_url"):
            raise PricebenchError(
                f"--base-url does not apply to {spec!r}: it points openai: or anthropic: specs "
                "at another address of that API (openai-compatible:MODEL@URL names its own)"
            )
        options["base_url"] = args.base_url
    return make_pricer(spec, **options)


def _check_run_directory(
    out: Path, tester: Tester, args: argparse.Namespace, fit_on: Sequence[Item]
) -> Results | None:
    """The run in `out` when it is complete and there is nothing to do; PricebenchError when the
    run there is another one (other pricer, data, currency, parameters or code); None when the
    pricer should be fitted and run."""
    if not (out / HEADER_FILE).exists():
        return None
    old = read_run(out)
    problem = run_mismatch(old.header, tester.header(fit_on))
    if problem:
        raise PricebenchError(
            f"{out} holds {problem}: run it elsewhere with --out DIR, or start over with "
            "--overwrite"
        )
    finished = old.header.status == "complete" and len(old.records) == len(tester.items)
    if finished and not (args.retry_failures and old.n_failed):
        return old
    return None


def _items_for(pricer: Pricer, items: list[Item]) -> list[Item]:
    """The items `pricer` is run on: all of them, or those it names (`item_ids`: a human's
    sheet holds a few items, and the others were never asked)."""
    wanted = getattr(pricer, "item_ids", None)
    if wanted is None:
        return items
    labelled = items if isinstance(items, ItemSet) else ItemSet(items)
    present = {item.id for item in labelled}
    unknown = [item_id for item_id in wanted if item_id not in present]
    if unknown:
        raise DataError(
            f"{pricer.name}: {len(unknown)} item id(s) of its sheet are not in the "
            f"{labelled.split or 'chosen'} split of {labelled.source or 'the data'} (e.g. "
            f"{unknown[0]!r}): was the sheet exported from other data?"
        )
    chosen = set(wanted)
    return labelled.subset(item for item in labelled if item.id in chosen)


def resume_policy(args: argparse.Namespace) -> Resume:
    """The Tester's resume policy from --overwrite and --retry-failures."""
    if args.overwrite:
        return "overwrite"
    return "retry-failures" if args.retry_failures else "continue"
