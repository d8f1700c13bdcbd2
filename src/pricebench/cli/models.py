"""`pricebench models` (the model catalogue) and `pricebench doctor` (checks it against APIs)."""

from __future__ import annotations

import argparse
import json

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pricebench.chat.models import catalogue
from pricebench.cli.common import table_width
from pricebench.errors import PricebenchError
from pricebench.items import Item

EXAMPLE = Item(
    id="example",
    title="Stainless steel kettle, 1.7 l",
    text="Stainless steel kettle, 1.7 l\nFast boil, auto shut-off.",
    price=35.0,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser(
        "models",
        help="the model catalogue: what pricebench sends to each model family",
        description=(
            "Without MODEL: every family in the catalogue, with its source and the date it was "
            "checked. With a spec (openai:gpt-5.4-mini, anthropic:claude-sonnet-4-6, "
            "openai-compatible:llama3.2@http://localhost:11434/v1): the row it resolves to and "
            "the exact request body pricebench would send for an item (no call is made)."
        ),
    )
    models.add_argument("spec", nargs="?", metavar="SPEC", help="a chat pricer spec")
    models.set_defaults(func=models_command)
    doctor = subparsers.add_parser(
        "doctor",
        help="check the catalogue against the real APIs with your keys (a few cents)",
        description=(
            "For each spec (default: one current model per provider whose key is set), send one "
            "item as pricebench would, then probe each rule the catalogue states (prefill, "
            "temperature, the token-limit parameter, reasoning effort) with one small call each, "
            "and report what the API did next to what the catalogue says."
        ),
    )
    doctor.add_argument("specs", nargs="*", metavar="SPEC")
    doctor.set_defaults(func=doctor_command)


def models_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    if args.spec is None:
        table = catalogue_table()
        if table_width(console, table) > console.width:  # 80 columns, or a pipe's $COLUMNS
            table = catalogue_table(compact=True)
        console.print(table)
        return 0
    from pricebench.registry import make_pricer

    pricer = make_pricer(args.spec, client=_OFFLINE, cache=False)
    info = getattr(pricer, "info", None)
    if info is None:
        raise PricebenchError(f"{args.spec}: not a chat pricer; the catalogue covers chat models")
    family = info.family
    facts = {
        "model": info.model,
        "family": family.label,
        "provider": family.provider,
        "fine-tuned": info.fine_tuned,
        "prefill": info.prefill,
        "temperature": family.temperature,
        "seed": family.seed,
        "token parameter": family.token_parameter,
        "api": _api_line(pricer, info.responses_only),
        "reasoning efforts": ", ".join(info.efforts) or "-",
        "thinking": info.thinking_text,
        "output budget": family.default_max_tokens,
        "structured output": family.structured,
        "batch": family.batch,
        "fine-tunable": _fine_tuning_line(family.fine_tunable),
        "shutdown": (
            f"{info.shutdown} ({info.shutdown_source})"
            if info.shutdown
            else ("retired" if family.retired else "-")
        ),
        "note": family.note or "-",
        "source": family.source,
        "checked": str(family.checked),
    }
    for key, value in facts.items():
        console.print(f"{key + ':':<20}{escape(str(value))}")
    console.print("\nrequest body for one item:")
    console.print(escape(json.dumps(pricer.request(EXAMPLE), indent=2)))  # type: ignore[attr-defined]
    return 0


def _fine_tuning_line(fine_tunable: bool) -> str:
    if not fine_tunable:
        return "no"
    from pricebench.chat.models import fine_tuning_access

    return f"yes, where OpenAI still takes jobs: {fine_tuning_access('openai').notice()}"


def _api_line(pricer: object, responses_only: bool) -> str:
    api = getattr(pricer, "api", None)
    if api is None:
        return "Messages API"
    if responses_only:
        return "Responses API (the only one that serves this model)"
    return "Responses API" if api == "responses" else "Chat Completions (--param api=responses)"


def catalogue_table(compact: bool = False) -> Table:
    """The catalogue, one row per family; `compact` (a narrow terminal) puts each family's
    settings on a line under its pattern, where they fold instead of being cut."""
    rows = []
    for family in catalogue():
        shutdown = family.shutdown or (
            "retired" if family.retired else "by model" if family.shutdown_by_name else "-"
        )
        rows.append(
            (
                family.provider,
                family.label,
                family.pattern,
                "yes" if family.prefill else "no",
                "yes" if family.temperature else "no",
                f"{family.token_parameter}={family.default_max_tokens}",
                family.default_effort or "-",
                str(shutdown),
            )
        )
    title = "model catalogue (first matching row wins)"
    if compact:
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_lines=True)
        table.add_column("family", overflow="fold", ratio=1)
        table.add_column("pattern, then prefill / temp / tokens / effort / shutdown", ratio=2)
        for provider, label, pattern, prefill, temp, tokens, effort, shutdown in rows:
            settings = (
                f"prefill {prefill}, temp {temp}, {tokens}, effort {effort}, shutdown {shutdown}"
            )
            table.add_row(
                Text(f"{provider}: {label}"), Text(f"{pattern}\n{settings}", overflow="fold")
            )
        return table
    table = Table(title=title)
    for column in (
        "provider",
        "family",
        "pattern",
        "prefill",
        "temp",
        "tokens",
        "effort",
        "shutdown",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


class _Offline:
    """A stand-in client for showing requests: building one needs no key and makes no call."""

    def with_options(self, **options: object) -> _Offline:
        return self

    def __getattr__(self, name: str) -> object:
        raise PricebenchError("this command makes no API calls (`models`, `run --dry-run`)")


_OFFLINE = _Offline()


def doctor_command(args: argparse.Namespace) -> int:
    from pricebench.chat.doctor import Unreachable, default_specs, run_checks
    from pricebench.cli import EXIT_STOPPED

    specs = args.specs or default_specs()
    if not specs:
        raise PricebenchError(
            "no API key set: set OPENAI_API_KEY and/or ANTHROPIC_API_KEY, or name specs"
        )
    console = Console(highlight=False, soft_wrap=True)
    disagreements = 0
    for spec in specs:
        try:
            checks = run_checks(spec)
        except Unreachable as error:
            # No network, a proxy, a typo in the address: not the catalogue's fault.
            console.print(f"[red]cannot reach the API[/red]: {escape(str(error))}")
            return EXIT_STOPPED
        table = Table(title=escape(spec))
        for column in ("rule", "catalogue says", "the API did", "agrees"):
            table.add_column(column)
        for check in checks:
            disagreements += not check.agrees
            table.add_row(
                escape(check.rule),
                escape(check.expected),
                escape(check.observed),
                "yes" if check.agrees else "[red]NO[/red]",
            )
        console.print(table)
    if disagreements:
        console.print(
            f"[red]{disagreements} rule(s) disagree with the API[/red]: please report them "
            "with this output"
        )
        return 1
    return 0
