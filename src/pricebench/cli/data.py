"""`pricebench data fetch|curate|build|get|info`: the Amazon Reviews 2023 data pipeline, and the
course's published datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pricebench.errors import PricebenchError
from pricebench.pipeline.build import BalanceOptions, build_dataset
from pricebench.pipeline.curate import PRESETS, CurationConfig
from pricebench.pipeline.fetch import COURSE_CATEGORIES, fetch
from pricebench.pipeline.hub import get_dataset
from pricebench.pipeline.manifest import BAND_EDGES, read_manifest
from pricebench.pipeline.stream import curate_file


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="download, curate, balance and split Amazon Reviews 2023 item data",
        description="Build pricing datasets from the Amazon Reviews 2023 item metadata (the data "
        "the course used) without the `datasets` package.",
    )
    commands = parser.add_subparsers(dest="data_command", metavar="STEP", required=True)

    fetch_parser = commands.add_parser(
        "fetch",
        help="download raw category files into the Hugging Face cache (checks their SHA-256)",
        description="Downloads McAuley-Lab/Amazon-Reviews-2023's raw meta_<Category>.jsonl files "
        "with huggingface_hub's hf_hub_download. HF_TOKEN: a token; HF_ENDPOINT: a hub mirror; "
        "HF_HUB_OFFLINE=1: the Hugging Face cache only.",
    )
    _add_category_option(fetch_parser, required=True)
    _add_fetch_options(fetch_parser)
    fetch_parser.add_argument("--force", action="store_true", help="download again even if cached")
    fetch_parser.set_defaults(func=fetch_command)

    curate_parser = commands.add_parser(
        "curate", help="curate one raw JSONL file into pricebench JSONL (bad records counted)"
    )
    curate_parser.add_argument("raw", type=Path, metavar="RAW", help="raw meta_<Category>.jsonl")
    curate_parser.add_argument("--out", type=Path, required=True, help="curated JSONL to write")
    curate_parser.add_argument(
        "--category-name", default=None, help="category of its items (default: from the file name)"
    )
    _add_curation_options(curate_parser)
    curate_parser.set_defaults(func=curate_command)

    build_parser = commands.add_parser(
        "build",
        help="fetch + curate + dedupe + balance + split into a dataset directory",
        description="Sizes are counts (400000) or fractions (0.1). Building again with the same "
        "rules reuses the curated files under OUT/curated/.",
    )
    _add_category_option(build_parser, required=False)
    build_parser.add_argument(
        "--raw",
        type=_raw_source,
        action="append",
        default=[],
        metavar="FILE[=CATEGORY]",
        help="a local raw JSONL file to use too (repeatable); its category from a "
        "meta_<Category> name, or given after = (e.g. health.jsonl=Health_and_Personal_Care)",
    )
    build_parser.add_argument("--out", type=Path, required=True, help="dataset directory")
    build_parser.add_argument("--train", type=_size, default=None, help="default: all the rest")
    build_parser.add_argument("--test", type=_size, default=0.1, help="default: 0.1")
    build_parser.add_argument("--validation", type=_size, default=0, help="default: 0")
    build_parser.add_argument(
        "--recipe",
        choices=("none", "slots", "weighted", "course-2024", "course-2025"),
        default="none",
        help="balance: slots = cap per whole-dollar price (like the course 2024); weighted = "
        "sample favouring higher prices (like 2025); course-2024 / course-2025 = the course's own "
        "sampling exactly (its random generators and order: the same items for the same seed); "
        "default none",
    )
    build_parser.add_argument("--slot-cap", type=int, default=1200, help="slots: items per dollar")
    build_parser.add_argument(
        "--sample-size",
        type=int,
        default=None,
        help="weighted, course-2025: items drawn (course-2025: 820,000, or all that can be)",
    )
    build_parser.add_argument(
        "--category-weight",
        action="append",
        default=None,
        metavar="NAME=W",
        help="balance weight of a category (default: the course's for the recipe)",
    )
    build_parser.add_argument("--seed", type=int, default=42)
    _add_fetch_options(build_parser)
    _add_curation_options(build_parser)
    build_parser.set_defaults(func=build_command)

    get_parser = commands.add_parser(
        "get",
        help="download one of the course's published datasets (items_lite, items_full, "
        "items_prompts_lite, items_prompts_full, pricer-data) as pricebench items",
        description="Downloads the dataset's parquet files from the Hugging Face hub through "
        "huggingface_hub (its cache, checksummed; pip install 'pricebench[parquet]') and writes "
        "its train / validation / test items. Then `--data NAME` anywhere reads them. "
        "HF_TOKEN: a token for gated datasets; HF_ENDPOINT: a hub mirror; HF_HUB_OFFLINE=1: the "
        "Hugging Face cache only.",
    )
    get_parser.add_argument(
        "names", nargs="+", metavar="NAME", help="items_lite, pricer-data, ... or OWNER/NAME"
    )
    get_parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where datasets are kept (default: $PRICEBENCH_DOWNLOADS/hub-datasets or the user "
        "cache directory); `--data NAME` looks in the default one",
    )
    get_parser.add_argument("--force", action="store_true", help="download and convert again")
    get_parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    get_parser.set_defaults(func=get_command)

    info_parser = commands.add_parser(
        "info", help="show a built dataset's manifest, price histogram and categories"
    )
    info_parser.add_argument("path", type=Path, metavar="PATH", help="dataset directory or file")
    info_parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info_parser.set_defaults(func=info_command)


def _add_category_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--category",
        action="append",
        dest="categories",
        default=[],
        required=required,
        metavar="NAME",
        help=f"category, repeatable (the course's: {', '.join(COURSE_CATEGORIES)})",
    )


def _add_fetch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="Hugging Face cache to download into (default: huggingface_hub's, $HF_HUB_CACHE or "
        "$HF_HOME/hub)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_curation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("curation")
    group.add_argument(
        "--preset",
        choices=PRESETS,
        default="course-2024",
        help="rule set: the course's 2024 or 2025 rules exactly, or pricebench's cleaner text "
        "(default: course-2024)",
    )
    group.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="JSON",
        help="a CurationConfig as JSON (overrides --preset)",
    )
    group.add_argument(
        "--token-counter",
        choices=("llama", "approx"),
        default=None,
        help="course-2024's token rules: `llama` (the default) counts with the course's Llama 3.1 "
        "tokenizer, exactly (extra `course`); `approx` estimates them, so the items are NOT the "
        "course's (said on stderr and in the manifest)",
    )
    group.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")


def _raw_source(text: str) -> tuple[Path, str | None]:
    path, sep, category = text.rpartition("=")
    if not sep or Path(text).exists() or not path:
        return Path(text), None
    return Path(path), category


def _size(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a count or fraction: {text!r}") from None


def _config(args: argparse.Namespace) -> CurationConfig:
    config = _given_config(args)
    if args.token_counter is not None:
        config = config.model_copy(update={"token_counter": args.token_counter})
    warning = config.warning()
    if warning:
        Console(stderr=True, highlight=False).print(f"[bold red]WARNING[/bold red]: {warning}")
    return config


def _given_config(args: argparse.Namespace) -> CurationConfig:
    if args.config is None:
        return CurationConfig.preset(args.preset)
    try:
        return CurationConfig.model_validate_json(args.config.read_text(encoding="utf-8"))
    except OSError as error:
        raise PricebenchError(f"{args.config}: cannot read ({error.strerror})") from None
    except ValueError as error:
        first = str(error).splitlines()
        raise PricebenchError(
            f"{args.config}: not a curation config ({' '.join(first[:3])})"
        ) from None


def _weights(pairs: list[str] | None) -> dict[str, float] | None:
    if pairs is None:
        return None
    weights = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise PricebenchError(f"--category-weight wants NAME=NUMBER, got {pair!r}") from None
        if not sep or not name:
            raise PricebenchError(f"--category-weight wants NAME=NUMBER, got {pair!r}")
    return weights


def fetch_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    for category in args.categories:
        download = fetch(
            category, cache_dir=args.cache_dir, force=args.force, progress=not args.no_progress
        )
        state = "cached" if download.cached else "downloaded"
        console.print(
            f"{state}: {download.path} ({download.size:,} bytes, sha256 {download.sha256})"
        )
    return 0


def get_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    for name in args.names:
        dataset = get_dataset(
            name,
            directory=args.dir,
            force=args.force,
            progress=not args.no_progress,
            say=Console(highlight=False, stderr=True).print,
        )
        splits = ", ".join(f"{count:,} {split}" for split, count in dataset.splits.items())
        state = "already there" if dataset.cached else "saved"
        console.print(f"{dataset.repo}: {state}: {dataset.path} ({splits})")
        console.print(f"  test fingerprint {dataset.test_fingerprint}; use it with --data {name}")
    return 0


def curate_command(args: argparse.Namespace) -> int:
    size = args.raw.stat().st_size if args.raw.is_file() else None
    columns = (TextColumn("curating"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    # auto_refresh off: no refresh thread in a process that forks workers (see pipeline.build)
    bar = Progress(*columns, console=Console(stderr=True), transient=True, auto_refresh=False)
    with bar:
        task = bar.add_task("curate", total=size)
        report = curate_file(
            args.raw,
            args.out,
            config=_config(args),
            category=args.category_name,
            workers=args.workers,
            on_progress=lambda done: bar.update(task, completed=done, refresh=True),
            unique_ids=True,  # `run` refuses a file with an id twice
        )
    console = Console(highlight=False)
    console.print(
        f"{args.out}: kept {report.kept:,} of {report.records:,} records "
        f"in {report.seconds:.1f} s ({report.records / max(report.seconds, 1e-9):,.0f} records/s)"
    )
    table = Table("outcome", "records", "first examples")
    for kind, count in report.counts.most_common():
        table.add_row(kind, f"{count:,}", "\n".join(report.examples.get(kind, [])[:1]))
    console.print(table)
    return 0


def build_command(args: argparse.Namespace) -> int:
    console = Console(highlight=False, stderr=True)
    balance = BalanceOptions(
        recipe=args.recipe,
        slot_cap=args.slot_cap,
        size=args.sample_size,
        category_weights=_weights(args.category_weight),
    )
    build_dataset(
        args.out,
        categories=args.categories,
        raw_files=args.raw,
        train=args.train,
        test=args.test,
        validation=args.validation,
        balance=balance,
        config=_config(args),
        seed=args.seed,
        workers=args.workers,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        say=console.print,
    )
    return info_command(argparse.Namespace(path=args.out, json=False))


def info_command(args: argparse.Namespace) -> int:
    manifest, path = read_manifest(args.path)
    console = Console(highlight=False)
    if args.json:
        print(manifest.model_dump_json(indent=2))
        return 0
    console.print(f"[bold]{path.parent}[/bold]  ({manifest.items:,} items)")
    for warning in manifest.warnings:
        console.print(f"[bold red]WARNING[/bold red]: {warning}")
    console.print(
        f"built {manifest.created} by pricebench {manifest.pricebench_version}; "
        f"curation {manifest.curation.name} v{manifest.curation.version}; "
        f"fingerprint {manifest.fingerprint}, test {manifest.test_fingerprint or '-'}"
    )
    console.print("splits: " + ", ".join(f"{k} {v:,}" for k, v in manifest.splits.items()))
    if manifest.balance:
        console.print("balance: " + json.dumps(manifest.balance))
    if manifest.deduplicated:
        console.print("duplicates dropped: " + json.dumps(manifest.deduplicated))
    sources = Table(
        "source", "records", "kept", "dropped (by reason)", title="sources, in the order read"
    )
    for source in manifest.sources:
        reasons = ", ".join(f"{k} {v:,}" for k, v in source.counts.items() if k != "kept")
        sources.add_row(
            Path(source.path).name,
            f"{source.records:,}",
            f"{source.counts.get('kept', 0):,}",
            reasons,
        )
    console.print(sources)
    console.print(histogram(manifest.price_bands))
    categories = Table("category", "items", title="categories")
    for name, count in manifest.categories.items():
        categories.add_row(name, f"{count:,}")
    console.print(categories)
    return 0


def histogram(bands: dict[str, int], width: int = 40) -> str:
    """A text bar chart of item counts per price band."""
    top = max(bands.values(), default=0) or 1
    label_width = max((len(label) for label in bands), default=0)
    lines = [f"price histogram (bands up to ${BAND_EDGES[-1]:,}+):"]
    for label, count in bands.items():
        bar = "#" * round(width * count / top)
        lines.append(f"  {label:>{label_width}} | {bar} {count:,}")
    return "\n".join(lines)
