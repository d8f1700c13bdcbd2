"""Curating a raw JSONL file at constant memory, in chunks fanned out over processes.

The parent never reads the file: it cuts it into byte ranges that end on line ends (a seek and one
readline per chunk) and workers read their own range. At most a few chunks are in flight, and
results are written in file order as they come, so memory stays flat whatever the file size and the
output is the same for any number of workers.
"""

from __future__ import annotations

import gzip
import json
import mmap
import os
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pricebench.errors import DataError
from pricebench.files import write_atomic
from pricebench.pipeline.curate import (
    BLANK_LINE,
    BROKEN_JSON,
    INVALID_UTF8,
    KEPT,
    MISSING_PRICE,
    TRUNCATED_INPUT,
    CurationConfig,
    Rejected,
    curate_record,
    dumps_json,
    loads_json,
)

CHUNK_BYTES = 4 << 20
# Stands for the unreadable end of a broken compressed file (a NUL byte cannot start a JSON line).
TRUNCATED_MARK = b"\x00truncated: "
EXAMPLES_PER_KIND = 3
DUPLICATE_ID = "duplicate_id"  # with unique_ids: a record whose id an earlier kept one had
_PRICE_KEY = b'"price": '
_IMAGES_KEY = b', "images": '
_STORE_KEY = b', "store": '
_USED_KEYS = frozenset(
    (
        "main_category",
        "title",
        "features",
        "description",
        "price",
        "store",
        "details",
        "parent_asin",
    )
)


@dataclass
class CurationReport:
    """What curating one source did: records read, kept, and how many of each drop reason."""

    source: str
    records: int = 0  # lines read, blank ones included
    counts: Counter[str] = field(default_factory=Counter)  # outcome -> records
    notes: Counter[str] = field(default_factory=Counter)  # note on kept records -> records
    examples: dict[str, list[str]] = field(default_factory=dict)  # outcome -> "line N: ..."
    seconds: float = 0.0

    @property
    def kept(self) -> int:
        return self.counts[KEPT]

    def add(self, chunk: _ChunkResult, first_line: int) -> None:
        self.records += chunk.lines
        self.counts.update(chunk.counts)
        self.notes.update(chunk.notes)
        for line, kind, snippet in chunk.examples:
            shown = self.examples.setdefault(kind, [])
            if len(shown) < EXAMPLES_PER_KIND:
                shown.append(f"line {first_line + line}: {snippet}")

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "records": self.records,
            "counts": dict(sorted(self.counts.items())),
            "notes": dict(sorted(self.notes.items())),
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict) -> CurationReport:
        return cls(
            source=data["source"],
            records=data["records"],
            counts=Counter(data["counts"]),
            notes=Counter(data["notes"]),
            examples=data["examples"],
            seconds=data["seconds"],
        )


@dataclass
class _ChunkResult:
    lines: int
    items: list[str]  # JSON lines of kept items
    counts: Counter[str]
    notes: Counter[str]
    examples: list[tuple[int, str, str]]  # (line within chunk, outcome, snippet)


def curate_chunk(
    data: bytes | mmap.mmap,
    config: CurationConfig,
    category: str | None,
    start: int = 0,
    stop: int | None = None,
) -> _ChunkResult:
    """Curate raw JSONL lines: `data[start:stop]` cut at each "\\n" (a bare "\\r" ends no line).
    Every line gets exactly one outcome; nothing raises.

    The chunk is scanned in place, not split into lines: most records have no price and are
    settled by two searches within their line, so only priced lines become objects of their own.
    `data` may be a memory map of the file (only `find` and slices are used), so that the bytes
    of unpriced lines are never copied.
    """
    counts: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    items: list[str] = []
    examples: list[tuple[int, str, str]] = []
    n = unpriced = 0
    pos, size = start, len(data) if stop is None else stop
    key, after, null = _PRICE_KEY, len(_PRICE_KEY), len(_PRICE_KEY) + 4
    while pos < size:
        n += 1
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
        # Most records have no price: settled here, inline, as `_outcome` would (see there)
        at = data.find(key, pos, end)
        if (
            at >= 0
            and at + null <= end
            and data[at + after : at + null] == b"null"
            and data.find(key, at + 1, end) < 0
        ):
            unpriced += 1
            if unpriced <= EXAMPLES_PER_KIND:
                snippet = data[pos : min(end, pos + 80)].decode("utf-8", "replace").strip()
                examples.append((n, MISSING_PRICE, snippet))
        else:
            raw = data[pos:end]
            kind = _outcome(raw, config, category, items, notes)
            counts[kind] += 1
            # the first few of each kind per chunk: the file's first few survive any chunking
            if kind != KEPT and counts[kind] <= EXAMPLES_PER_KIND:
                examples.append((n, kind, raw[:80].decode("utf-8", "replace").strip()))
        pos = end + 1
    if unpriced:
        counts[MISSING_PRICE] += unpriced
    return _ChunkResult(n, items, counts, notes, examples)


def _outcome(
    raw: bytes,
    config: CurationConfig,
    category: str | None,
    items: list[str],
    notes: Counter[str],
) -> str:
    if not raw.strip():
        return BLANK_LINE
    if raw.startswith(TRUNCATED_MARK):
        return TRUNCATED_INPUT
    # Most raw records have no price. The first `"price": ` of a line is the top-level key (inside
    # a JSON string its quotes would be escaped, and no nested object comes before it in this
    # schema); when it is null and the only one, the line is dropped without being decoded.
    at = raw.find(_PRICE_KEY)
    unpriced = at >= 0 and raw.startswith(b"null", at + len(_PRICE_KEY))
    if unpriced and raw.find(_PRICE_KEY, at + 1) < 0:
        return MISSING_PRICE
    try:
        record = _decode(raw)
    except UnicodeDecodeError:
        return INVALID_UTF8
    except (json.JSONDecodeError, RecursionError):  # nested deeper than json decodes: unreadable
        return BROKEN_JSON
    try:
        curated = curate_record(record, config, category)
    except Rejected as verdict:
        return verdict.kind
    items.append(dumps_json(curated.fields))  # ASCII escapes: the C fast path
    notes.update(curated.notes)
    return KEPT


def _decode(raw: bytes) -> object:
    """The record, decoded without its image and video lists when they can be cut out safely.

    Those lists (unused here) are half of a record's bytes and most of its JSON objects. They sit
    between the top-level keys "images" and "store"; the cut is kept only if it decodes and still
    holds every field curation reads, which it cannot when the file's key order is different.
    """
    start = raw.find(_IMAGES_KEY)
    end = raw.find(_STORE_KEY, start) if start >= 0 else -1
    if end > start:
        try:
            lean = loads_json(raw[:start] + raw[end:])
        except ValueError:
            lean = None
        if isinstance(lean, dict) and _USED_KEYS.issubset(lean):
            return lean
    return loads_json(raw)


def _curate_range(
    path: str, start: int, end: int, config: CurationConfig, category: str | None
) -> _ChunkResult:
    with open(path, "rb") as handle:
        # A map of the range, not a copy: reading it copied every byte, and most are never
        # looked at again (a third of the CPU time of an unpriced line). Maps start on a
        # granularity boundary; only this range is mapped, so resident memory stays flat.
        base = start - start % mmap.ALLOCATIONGRANULARITY
        try:
            view = mmap.mmap(handle.fileno(), end - base, access=mmap.ACCESS_READ, offset=base)
        except (OSError, ValueError):  # a file system without maps: read the range
            handle.seek(start)
            return curate_chunk(handle.read(end - start), config, category)
        with view:
            return curate_chunk(view, config, category, start - base, end - base)


def byte_ranges(
    path: Path, chunk_bytes: int = CHUNK_BYTES, start: int = 0
) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges covering the file from `start` (a line start), each ending just
    after a newline (or at the end of the file)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        while start < size:
            handle.seek(min(start + chunk_bytes, size))
            if handle.tell() < size:
                handle.readline()
            end = max(handle.tell(), start + 1)
            yield start, min(end, size)
            start = end


def _gzip_chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(lines, their bytes) of about `chunk_bytes` each, for compressed input that cannot be
    seeked. A stream that breaks off (a truncated download) ends with one `TRUNCATED_MARK` line,
    after every line read before the break."""
    chunk: list[bytes] = []
    size = 0
    with gzip.open(path, "rb") as handle:
        try:
            for line in handle:
                chunk.append(line)
                size += len(line)
                if size >= chunk_bytes:
                    yield len(chunk), b"".join(chunk)
                    chunk, size = [], 0
        except (OSError, EOFError, zlib.error) as error:
            if chunk and not chunk[-1].endswith(b"\n"):
                chunk[-1] += b"\n"  # the broken last line stays a line of its own
            chunk.append(TRUNCATED_MARK + str(error).encode("utf-8", "replace"))
    if chunk:
        yield len(chunk), b"".join(chunk)


def category_from_name(path: Path) -> str | None:
    """ "meta_Appliances.jsonl" -> "Appliances" (the file names of Amazon Reviews 2023)."""
    name = path.name.split(".")[0]
    return name.removeprefix("meta_") if name.startswith("meta_") else None


def curate_file(
    source: str | Path,
    out: str | Path,
    *,
    config: CurationConfig | None = None,
    category: str | None = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    resume: bool = True,
    on_progress: Callable[[int], None] | None = None,
    unique_ids: bool = False,
) -> CurationReport:
    """Curate the raw JSONL (or JSONL.gz) `source` into pricebench JSONL at `out`.

    `config` defaults to the `course-2024` preset. `category` defaults to the one in the file name
    (`meta_<Category>.jsonl`). `workers`: processes
    (default: CPU count; 1 curates in this process). Items are written to `<out>.part` as chunks
    finish, with a checkpoint beside it; an interrupted run on the same source with the same rules
    continues from the last checkpoint (`resume=False` starts over; compressed input always does).
    `on_progress(n)` gets the source bytes done (compressed input: lines). Bad records are counted,
    never fatal. `unique_ids` keeps the first record of each id (records share a `parent_asin`)
    and counts the others as `duplicate_id`, so that the file loads as data (`data curate`; a
    build keeps them all, and its course recipes rename them as the course kept them).
    """
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise DataError(f"{source}: no such file")
    config = (config or CurationConfig.preset("course-2024")).resolved()
    category = category or category_from_name(source)
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    checkpoint = out.with_name(out.name + ".checkpoint.json")
    stamp = _stamp(source, config, category)
    if unique_ids:
        stamp["unique_ids"] = True
    report, offset, written = CurationReport(str(source)), 0, 0
    if resume and source.suffix.lower() != ".gz":
        saved = _read_checkpoint(checkpoint, partial, stamp)
        if saved is not None:
            report, offset, written = saved
    seen = _ids_written(partial, written) if unique_ids else set()
    with open(partial, "r+b" if written else "wb") as sink:
        sink.truncate(written)  # drop what was written after the checkpoint
        sink.seek(written)
        for done, result in _results(source, config, category, workers, chunk_bytes, offset):
            if unique_ids:
                _drop_seen_ids(result, seen)
            report.add(result, first_line=report.records)
            if result.items:
                sink.write(("\n".join(result.items) + "\n").encode())
            if source.suffix.lower() != ".gz":
                sink.flush()
                _write_checkpoint(checkpoint, stamp, done, sink.tell(), report)
            if on_progress is not None:
                on_progress(done)
    partial.replace(out)  # only a finished file carries the final name
    checkpoint.unlink(missing_ok=True)
    report.seconds += time.perf_counter() - started
    return report


def _ids_written(partial: Path, written: int) -> set[str]:
    """The ids of the items in the first `written` bytes of `partial` (a resumed curation)."""
    if not written:
        return set()
    with open(partial, "rb") as file:
        return {json.loads(line)["id"] for line in file.read(written).splitlines() if line}


def _drop_seen_ids(result: _ChunkResult, seen: set[str]) -> None:
    """Take out of `result` the items whose id is in `seen` (counted as `duplicate_id`), and add
    the ids of the others to `seen`."""
    kept = []
    for line in result.items:
        item_id = json.loads(line)["id"]
        if item_id in seen:
            result.counts[KEPT] -= 1
            result.counts[DUPLICATE_ID] += 1
            continue
        seen.add(item_id)
        kept.append(line)
    result.items = kept


def _stamp(source: Path, config: CurationConfig, category: str | None) -> dict:
    info = source.stat()
    return {
        "source": str(source.resolve()),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "category": category,
        "config": config.model_dump(mode="json"),
    }


def _write_checkpoint(
    path: Path, stamp: dict, source_offset: int, output_bytes: int, report: CurationReport
) -> None:
    state = {
        "stamp": stamp,
        "source_offset": source_offset,
        "output_bytes": output_bytes,
        "report": report.as_dict(),
    }
    write_atomic(path, json.dumps(state))  # a checkpoint is whole or absent, never half-written


def _read_checkpoint(
    path: Path, partial: Path, stamp: dict
) -> tuple[CurationReport, int, int] | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if state.get("stamp") != stamp or not partial.is_file():
        return None
    if partial.stat().st_size < state["output_bytes"]:
        return None
    return CurationReport.from_dict(state["report"]), state["source_offset"], state["output_bytes"]


def _jobs(source: Path, chunk_bytes: int, offset: int) -> Iterator[tuple[int, Callable, tuple]]:
    """(progress mark, function, its leading arguments) for each chunk of the source."""
    if source.suffix.lower() == ".gz":
        done = 0
        for lines, data in _gzip_chunks(source, chunk_bytes):
            done += lines
            yield done, curate_chunk, (data,)
    else:
        for start, end in byte_ranges(source, chunk_bytes, offset):
            yield end, _curate_range, (str(source), start, end)


def _results(
    source: Path,
    config: CurationConfig,
    category: str | None,
    workers: int,
    chunk_bytes: int,
    offset: int = 0,
) -> Iterator[tuple[int, _ChunkResult]]:
    jobs = _jobs(source, chunk_bytes, offset)
    if workers == 1:
        for mark, function, args in jobs:
            yield mark, function(*args, config, category)
        return
    window = workers * 2  # chunks in flight: enough to keep every worker busy, and no more
    pending: deque[tuple[int, Future[_ChunkResult]]] = deque()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for mark, function, args in jobs:
            pending.append((mark, pool.submit(function, *args, config, category)))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
