"""fetch + curate + dedupe + balance + split + save, in one call (`pricebench data build`).

Each source's curated items are kept under `<out>/curated/` with a report; building again with the
same rules and source reuses them instead of curating again, so a cut-off build resumes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from pricebench.errors import DataError
from pricebench.items import Item
from pricebench.pipeline.balance import (
    COURSE_2024_WEIGHTS,
    COURSE_2025_WEIGHTS,
    balance_course_2024,
    balance_course_2025,
    balance_slots,
    balance_weighted,
    dedupe,
    dedupe_course,
)
from pricebench.pipeline.curate import KEPT, CurationConfig
from pricebench.pipeline.fetch import COURSE_CATEGORIES, fetch
from pricebench.pipeline.manifest import Manifest, SourceInfo, write_manifest
from pricebench.pipeline.split import split_items
from pricebench.pipeline.store import file_sha256, save_items
from pricebench.pipeline.stream import CurationReport, category_from_name, curate_file

Recipe = Literal["none", "slots", "weighted", "course-2024", "course-2025"]


@dataclass(frozen=True)
class BalanceOptions:
    """`slots` (2024): cap per whole-dollar slot; `weighted` (2025): `size` items drawn with
    weights growing with price. `category_weights` None means the course's weights.
    `course-2024` / `course-2025`: the course's own sampling code, exactly (its generators, its
    weights, its order; `slot_cap`, `keep_above` and `size` as given, the course's by default)."""

    recipe: Recipe = "none"
    slot_cap: int = 1200
    keep_above: float = 240
    size: int | None = None
    exponent: float = 2.0
    category_weights: dict[str, float] | None = None

    def apply(self, items: list[Item], seed: int) -> tuple[list[Item], dict]:
        if self.recipe == "slots":
            weights = (
                COURSE_2024_WEIGHTS if self.category_weights is None else self.category_weights
            )
            sample = balance_slots(
                items,
                cap=self.slot_cap,
                keep_above=self.keep_above,
                category_weights=weights,
                seed=seed,
            )
            params = {"slot_cap": self.slot_cap, "keep_above": self.keep_above}
        elif self.recipe == "weighted":
            weights = (
                COURSE_2025_WEIGHTS if self.category_weights is None else self.category_weights
            )
            size = self.size if self.size is not None else len(items)
            sample = balance_weighted(
                items,
                min(size, len(items)),
                exponent=self.exponent,
                category_weights=weights,
                seed=seed,
            )
            params = {"size": size, "exponent": self.exponent}
        elif self.recipe == "course-2024":
            sample = balance_course_2024(
                items, cap=self.slot_cap, keep_above=int(self.keep_above), seed=seed
            )
            params = {"slot_cap": self.slot_cap, "keep_above": int(self.keep_above)}
            weights = {"Automotive": 1, "other": 5}
        elif self.recipe == "course-2025":
            sample = balance_course_2025(items, self.size, seed=seed)
            params = {"size": len(sample)}
            weights = {"Tools_and_Home_Improvement": 0.5, "Automotive": 0.05}
        else:
            return items, {"recipe": "none"}
        return sample, {"recipe": self.recipe, **params, "category_weights": weights, "seed": seed}


@dataclass
class Source:
    """A raw file to curate: downloaded from the hub (`url` set) or local."""

    path: Path
    category: str | None = None
    url: str | None = None
    sha256: str | None = None
    report: CurationReport | None = field(default=None, repr=False)


def build_dataset(
    out: str | Path,
    *,
    categories: Sequence[str] = (),
    raw_files: Sequence[str | Path | tuple[str | Path, str]] = (),
    train: int | float | None = None,
    test: int | float = 0.1,
    validation: int | float = 0,
    balance: BalanceOptions | None = None,
    config: CurationConfig | None = None,
    seed: int = 42,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> Manifest:
    """Build a dataset directory (`items.jsonl`, `manifest.json`) from hub categories and/or local
    raw JSONL files; returns its manifest. A raw file is a path (its category from a
    `meta_<Category>` name, else none) or a `(path, category)` pair, read in the order given
    (categories first): the sample depends on it. Categories come through `fetch` (the Hugging
    Face cache, or `cache_dir`). `say` receives one line per step, warnings included."""
    if not categories and not raw_files:
        raise DataError("nothing to build from: give at least one category or raw file")
    out = Path(out)
    config = (config or CurationConfig.preset("course-2024")).resolved()
    warning = config.warning()
    if warning:
        say(f"WARNING: {warning}")
    balance = balance or BalanceOptions()
    sources: list[Source] = []
    for category in categories:
        download = fetch(category, cache_dir=cache_dir, progress=progress)
        how = "cached" if download.cached else "downloaded"
        say(f"{how}: {download.path} ({download.size:,} bytes)")
        sources.append(Source(download.path, category, download.url, download.sha256))
    for raw in raw_files:
        path, given = (Path(raw[0]), raw[1]) if isinstance(raw, tuple) else (Path(raw), None)
        if not path.is_file():
            raise DataError(f"{path}: no such raw file")
        sources.append(Source(path, given or category_from_name(path), None, file_sha256(path)))
    warnings = [warning] if warning else []
    say(
        "sources in this order (the sample depends on it, as the course's did on its list of "
        "categories): " + ", ".join(f"{s.path.name} ({s.category or '-'})" for s in sources)
    )
    out_of_order = _course_order_warning(balance, [source.category for source in sources])
    if out_of_order:
        say(f"WARNING: {out_of_order}")
        warnings.append(out_of_order)

    curated_dir = out / "curated"
    curated_files: list[Path] = []
    refs: list[_Ref] = []
    for source in sources:
        curated = curated_dir / f"{source.path.name.split('.')[0]}.jsonl"
        source.report = _curate_once(source, curated, config, workers, progress)
        kept, records = source.report.kept, source.report.records
        say(f"curated {source.path.name}: {kept:,} of {records:,} records kept")
        if source.report.kept:
            refs.extend(_read_refs(curated, len(curated_files)))
            curated_files.append(curated)
    if not refs:
        raise DataError("curation kept no item from the sources (see the counts with --verbose)")

    # Dedupe, balance and split see small references (id, hashes of title and text, price,
    # category, where the line is), never the texts: memory stays flat whatever the input size.
    # The course's rule sets remove duplicates as the course did (2024: none; 2025: its own way).
    unique: list[Item]
    if config.rules in ("course-2024", "course-2025"):
        course_refs, dropped = dedupe_course(refs, config.rules, seed)
        course_refs, renamed = _unique_ids(course_refs)
        unique = course_refs  # type: ignore[assignment]  # references stand in for items (see _Ref)
        if renamed:
            dropped["ids_made_unique"] = renamed
            say(f"{renamed:,} items share an id with an earlier one (kept, as the course kept "
                "them): their ids get ~2, ~3, ...")  # fmt: skip
    else:
        unique, dropped = dedupe(refs)  # type: ignore[arg-type]
    del refs
    _warn_unused_weights(balance, {ref.category for ref in unique}, say)
    balanced, balance_info = balance.apply(unique, seed)
    del unique
    final: list[_Ref] = split_items(  # type: ignore[assignment]
        balanced, train=train, test=test, validation=validation, seed=seed
    )
    content = hashlib.sha256()
    saved = save_items(_final_items(final, curated_files, content), out)
    files = [path.name for path in saved]
    totals: Counter[str] = Counter()
    for source in sources:
        assert source.report is not None
        totals.update(source.report.counts)
    manifest = Manifest(
        sources=[_source_info(source) for source in sources],
        source_order=[str(source.path) for source in sources],
        curation=config,
        warnings=warnings,
        counts=dict(sorted(totals.items())),
        deduplicated=dict(dropped),
        balance=balance_info,
        files=[*files, "manifest.json"],
        checksums={path.name: file_sha256(path) for path in saved},
    ).describe_items(final, content=content.hexdigest())  # type: ignore[arg-type]
    write_manifest(manifest, out)
    say(f"saved {len(final):,} items to {out} (fingerprint {manifest.fingerprint})")
    return manifest


@dataclass(slots=True)
class _Ref:
    """A curated item as dedupe, balance and split see it: what they read of an `Item` (`id`,
    `title`, `text`, `price`, `category`, `split`, `model_copy`), with the title and text as
    16-byte hashes, and where its line is."""

    id: str
    title: bytes
    text: bytes
    price: float
    category: str | None
    source: int  # index of its curated file
    offset: int  # of its line in that file
    split: str | None = None

    def model_copy(self, *, update: dict[str, Any]) -> _Ref:
        return replace(self, **update)


def _course_order_warning(balance: BalanceOptions, categories: list[str | None]) -> str | None:
    """What to say when a course recipe reads the course's categories in another order than the
    course loaded them (its sample would differ, as it does for any other order)."""
    if balance.recipe not in ("course-2024", "course-2025"):
        return None
    if not categories or not all(c in COURSE_CATEGORIES for c in categories):
        return None
    known = [c for c in categories if c is not None]
    course_order = sorted(known, key=COURSE_CATEGORIES.index)
    if known == course_order:
        return None
    return (
        f"--recipe {balance.recipe} samples from the sources in the order given; the course "
        f"loaded these categories in the order {', '.join(course_order)} (give them so for the "
        "course's sample)"
    )


def _unique_ids(refs: list[_Ref]) -> tuple[list[_Ref], int]:
    """`refs` with each repeated id made unique (`ID~2`, `ID~3`...), and how many were."""
    seen: Counter[str] = Counter()
    out: list[_Ref] = []
    renamed = 0
    for ref in refs:
        seen[ref.id] += 1
        if seen[ref.id] > 1:
            renamed += 1
            ref = replace(ref, id=f"{ref.id}~{seen[ref.id]}")
        out.append(ref)
    return out, renamed


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _read_refs(curated: Path, source: int) -> Iterator[_Ref]:
    offset = 0
    with open(curated, "rb") as lines:
        for line in lines:
            fields = json.loads(line)
            category = fields.get("category")
            yield _Ref(
                str(fields["id"]),
                _digest(fields["title"]),
                _digest(fields["text"]),
                float(fields["price"]),
                sys.intern(category) if isinstance(category, str) and category else None,
                source,
                offset,
            )
            offset += len(line)


def _final_items(final: list[_Ref], curated_files: list[Path], content: Any) -> Iterator[Item]:
    """The final items, read back one at a time from their curated lines, in `final`'s order;
    `content` (a hashlib object) is fed what `manifest.content_sha256` hashes."""
    handles = [open(path, "rb") for path in curated_files]  # noqa: SIM115 - closed below
    try:
        for ref in final:
            handle = handles[ref.source]
            handle.seek(ref.offset)
            fields = json.loads(handle.readline())
            fields.pop("id")
            item = Item(
                id=ref.id,  # made unique where the course's rules keep repeats
                title=fields.pop("title"),
                text=fields.pop("text"),
                price=fields.pop("price"),
                category=fields.pop("category", None) or None,
                split=ref.split,
                extras=fields,
            )
            row = [item.id, item.split, item.price, item.category, item.title, item.text]
            content.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            yield item
    finally:
        for handle in handles:
            handle.close()


def _warn_unused_weights(
    balance: BalanceOptions, categories: set[str | None], say: Callable[[str], None]
) -> None:
    """Say so when the recipe's category weights name no category of the items (they would
    silently not apply, e.g. for a raw file whose name gives no category)."""
    weights = balance.category_weights
    if balance.recipe == "none" or weights is None:  # the course's own weights: no surprise
        return
    unused = sorted(set(weights) - {c for c in categories if c})
    if unused:
        known = ", ".join(sorted(str(c) for c in categories)) or "none"
        say(
            f"warning: category weights for {', '.join(unused)} match no item (categories "
            f"here: {known}); give a raw file's category as FILE=CATEGORY"
        )


def _curate_once(
    source: Source, curated: Path, config: CurationConfig, workers: int | None, progress: bool
) -> CurationReport:
    """Curate `source` into `curated`, or reuse an earlier result made by the same rules."""
    report_path = curated.with_name(curated.name + ".report.json")
    stamp = {
        "config": config.model_dump(mode="json"),
        "source_size": source.path.stat().st_size if source.path.exists() else None,
        "source_mtime_ns": source.path.stat().st_mtime_ns if source.path.exists() else None,
    }
    if curated.is_file() and report_path.is_file():
        saved = json.loads(report_path.read_text())
        if saved.get("stamp") == stamp:
            return CurationReport.from_dict(saved["report"])
    columns: tuple[ProgressColumn, ...] = (
        TextColumn("curating {task.description}"),
        BarColumn(),
        DownloadColumn(),
    )
    columns += (TimeRemainingColumn(),)
    # No refresh thread (auto_refresh off, refreshed on each chunk): worker processes are forked,
    # and forking a process that runs threads can deadlock the children.
    bar = Progress(*columns, console=Console(stderr=True), disable=not progress, auto_refresh=False)
    with bar:
        task = bar.add_task(source.path.name, total=source.path.stat().st_size)
        report = curate_file(
            source.path,
            curated,
            config=config,
            category=source.category,
            workers=workers,
            on_progress=lambda done: bar.update(task, completed=done, refresh=True),
        )
    report_path.write_text(json.dumps({"stamp": stamp, "report": report.as_dict()}, indent=1))
    return report


def _source_info(source: Source) -> SourceInfo:
    report = source.report
    assert report is not None
    return SourceInfo(
        path=str(source.path),
        url=source.url,
        category=source.category,
        size=source.path.stat().st_size,
        sha256=source.sha256,
        records=report.records,
        counts=dict(sorted(report.counts.items())),
        notes=dict(sorted(report.notes.items())),
        examples=report.examples,
        seconds=round(report.seconds, 3),
    )


__all__ = ["BalanceOptions", "build_dataset", "KEPT"]
