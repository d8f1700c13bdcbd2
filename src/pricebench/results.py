"""A run's results: one record per item, a header, and the files that hold them.

A run lives in a directory: `run.json` (the header, rewritten whole when the run's status changes)
and `items.jsonl` (one record per priced item, appended and flushed as each item finishes). A crash
or Ctrl-C loses at most the item in flight, and re-reading the directory gives the same `Results`.
When an item appears twice (a failure retried on resume), the later record wins.

While a run is written, `run.lock` holds an exclusive lock on the directory: a second process on
the same run fails at once, naming the holder's pid. A partial last line (a power cut mid-write)
is dropped when the run resumes, and that item is priced again. A write that fails (a full disk)
is undone, so the file stays readable, and the run stops.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from pricebench._version import __version__
from pricebench.currency import check_currency
from pricebench.errors import PricebenchError, ResultsError, StopRun
from pricebench.files import read_jsonl, write_atomic
from pricebench.inflight import STARTED_FILE, StartedLog, unrecorded
from pricebench.metrics import Scores, Tolerance, score

HEADER_FILE = "run.json"
ITEMS_FILE = "items.jsonl"
LOCK_FILE = "run.lock"
# What may already be in a directory that holds no run.json yet: a run never writes into a
# directory holding anything else (it could be someone's data).
_FRESH_DIRECTORY_FILES = frozenset({LOCK_FILE, HEADER_FILE + ".tmp", STARTED_FILE})
FORMAT_VERSION = 1

Status = Literal["running", "complete", "stopped", "interrupted"]


class ItemResult(BaseModel):
    """One item's outcome. A failure has `failure` set and no guess; it is never scored as $0."""

    id: str
    title: str
    truth: float
    category: str | None = None  # the item's, for figures per category
    guess: float | None = None
    error: float | None = None  # absolute error
    squared_log_error: float | None = None
    hit: bool | None = None
    band: str | None = None  # green / orange / red
    latency: float = 0.0  # seconds
    latency_items: int = 1  # priced in one call with it: latency is their mean when above 1
    failure: str | None = None
    reply: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # US dollars paid; None when the model's price is unknown
    cached: bool = False
    # US dollars the reply costs at list price, paid or answered from the cache (None: no paid
    # API, or a record from before pricebench kept it).
    list_cost: float | None = None
    # Prompt tokens the provider read from / wrote to its prompt cache (part of input_tokens).
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def failed(self) -> bool:
        return self.failure is not None


class RunHeader(BaseModel):
    """What was run on what: enough to tell whether two runs can be compared."""

    format_version: int = FORMAT_VERSION
    pricer: str
    params: dict[str, Any] = Field(default_factory=dict)
    dataset: str = ""  # where the items came from
    fingerprint: str  # of the evaluated items
    n_items: int
    tolerance: Tolerance = Field(default_factory=Tolerance)
    currency: str = "USD"
    mode: str = "interactive"
    # The pricer's code (`pricer.code_identity`): a run is never continued by other code.
    code: str | None = None
    # The guess a failed item counts as when runs are ranked: the training mean (docs/compare.md).
    fallback: float | None = None
    # The items the pricer was fitted on (their fingerprint), when the run fitted it.
    trained_on: str | None = None
    pricebench_version: str = __version__
    started_at: str = Field(default_factory=lambda: _now())
    finished_at: str | None = None
    status: Status = "running"
    note: str | None = None  # why a run stopped, for instance
    fit_seconds: float | None = None
    totals: dict[str, float] = Field(default_factory=dict)  # cost, tokens, time
    # Parameters that change how the run goes, not what it guesses (the pricer says which): a
    # resumed run may change them, as a bigger budget continues a run that hit its cap.
    resumable: list[str] = Field(default_factory=list)

    # A shared run.json is input too: its currency is printed in HTML and terminal markup.
    _currency = field_validator("currency")(check_currency)


class Results:
    """A run's header and item records, with its scores."""

    def __init__(self, header: RunHeader, records: Sequence[ItemResult], path: Path | None = None):
        self.header = header
        self.records = list(records)
        self.path = path

    @property
    def name(self) -> str:
        return self.header.pricer

    @property
    def priced(self) -> list[ItemResult]:
        return [r for r in self.records if not r.failed]

    @property
    def failures(self) -> list[ItemResult]:
        return [r for r in self.records if r.failed]

    @cached_property
    def scores(self) -> Scores:
        # In id order, so that the bootstrap intervals do not depend on which thread finished first.
        priced = sorted(self.priced, key=lambda r: r.id)
        return score(
            [r.error for r in priced],  # type: ignore[misc]
            [r.squared_log_error for r in priced],  # type: ignore[misc]
            [bool(r.hit) for r in priced],
        )

    @property
    def mean_error(self) -> float:
        return self.scores.mean_error

    @property
    def median_error(self) -> float:
        return self.scores.median_error

    @property
    def rmsle(self) -> float:
        return self.scores.rmsle

    @property
    def hit_rate(self) -> float:
        return self.scores.hit_rate

    @property
    def n_priced(self) -> int:
        return len(self.records) - self.n_failed

    @property
    def n_failed(self) -> int:
        return sum(r.failed for r in self.records)

    @property
    def cost(self) -> float:
        """US dollars paid for the calls whose price is known (see `cost_known`)."""
        return math.fsum(r.cost or 0.0 for r in self.records)

    @property
    def list_cost(self) -> float:
        """US dollars the run's replies cost at list price, cached ones included: what running it
        again without the response cache would cost (the paid cost where no list cost is kept)."""
        return math.fsum(
            (r.list_cost if r.list_cost is not None else r.cost) or 0.0 for r in self.records
        )

    @property
    def n_cached(self) -> int:
        """Items answered from pricebench's response cache (paid for by an earlier run)."""
        return sum(r.cached for r in self.records)

    @property
    def cost_known(self) -> bool:
        """False when some paid call was to a model whose price is unknown."""
        return all(r.cost is not None for r in self.records)

    @property
    def paid(self) -> bool:
        """Whether the run made a paid call (tokens counted or a cost, known or not)."""
        return any(
            r.cost is None or r.cost or r.list_cost or r.input_tokens or r.output_tokens
            for r in self.records
        )

    def cost_text(self) -> str:
        """The cost as tables show it: what the replies cost at list price, "USD 0.0123", with
        "(N cached)" when some came from the response cache (paid for by an earlier run), so a
        cached rerun still says what the model costs; "unknown" or "USD 0.0123 + unknown" where
        a price is unknown; "-" for a run that made no paid call (a local pricer). API prices are
        in US dollars whatever the data's currency, so the unit is written out."""
        if not self.paid:
            return "-"
        amount = self.list_cost
        known = usd(amount)
        if self.n_cached:
            known += f" ({self.n_cached:,} cached)"
        if self.cost_known:
            return known
        return f"{known} + unknown" if amount else "unknown"

    def usage_text(self) -> str:
        """The tokens paid for and what they cost, for the line after a run's summary: "12,900
        input tokens (12,000 read from the provider's prompt cache), 30 output; USD 0.0042"."""
        if not self.paid:
            return "no paid calls"
        paid = [r for r in self.records if not r.cached]
        read = sum(r.cache_read_tokens for r in paid)
        written = sum(r.cache_write_tokens for r in paid)
        cache = [
            f"{read:,} cached" if read else "",
            f"{written:,} written to cache" if written else "",
        ]
        cached = ", ".join(part for part in cache if part)
        paid_text = usd(self.cost)
        if not self.cost_known:
            paid_text = f"{paid_text} + unknown" if self.cost else "unknown"
        line = (
            f"{sum(r.input_tokens for r in paid):,} input tokens"
            + (f" ({cached})" if cached else "")
            + f", {sum(r.output_tokens for r in paid):,} output; cost {paid_text}"
        )
        if self.n_cached:  # a rerun from the cache paid nothing, but the model is not free
            line += (
                f"; {self.n_cached:,} answered from the response cache (all replies at list "
                f"price: {usd(self.list_cost)})"
            )
        return line

    @property
    def complete(self) -> bool:
        return self.header.status == "complete"

    def failure_reasons(self) -> list[tuple[str, int]]:
        """The failures' reasons (their exception's type), most common first, with their counts."""
        counts = Counter(
            (r.failure or "").partition(":")[0].strip() or "unknown" for r in self.failures
        )
        return counts.most_common()

    def summary(self) -> str:
        """One line: the headline metrics as the course printed them, with their 95% CIs."""
        if self.n_priced == 0:
            return f"{self.name}: {self.why_nothing_priced()}"
        s, currency = self.scores, self.header.currency
        return (
            f"{self.name}: error {money(s.mean_error, currency)} "
            f"[{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}]  "
            f"RMSLE {s.rmsle:.2f} [{s.rmsle_ci.low:.2f}, {s.rmsle_ci.high:.2f}]  "
            f"hits {s.hit_rate:.1%} [{s.hit_rate_ci.low:.1%}, {s.hit_rate_ci.high:.1%}]  "
            f"n={self.n_priced} failed={self.n_failed}"
            + (" (figures on the priced items only)" if self.n_failed else "")
        )

    def why_nothing_priced(self) -> str:
        """For a run that priced nothing: how many items failed and the most common reason."""
        if self.header.status == "stopped":  # the reason was said when it stopped, and is the note
            why = "run.json says why" if self.path is not None else self.header.note
            return f"stopped before any price ({self.n_failed} failed); {why}"
        if not self.records:
            return f"nothing priced yet (status {self.header.status})"
        reasons = self.failure_reasons()
        reason, count = reasons[0]
        example = next(r.failure for r in self.failures if (r.failure or "").startswith(reason))
        return (
            f"nothing priced: all {self.n_failed} items failed; most common reason ({count} of "
            f"{self.n_failed}): {' '.join((example or '').split())[:300]}"
        )

    def chart(self, path: str | Path | None = None):  # -> matplotlib Figure
        """Truth-vs-guess scatter and running mean error; saved as PNG when `path` is given.

        A shortcut to `pricebench.compare.charts.run_chart(self, path)`: the comparison wing draws
        charts from results, and imports nothing of this module to do so."""
        from pricebench.compare.charts import run_chart

        return run_chart(self, path)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.summary())}</pre>"

    def __repr__(self) -> str:
        return f"<Results {self.summary()}>"

    @classmethod
    def load(cls, path: str | Path) -> Results:
        return read_run(Path(path))


def read_run(path: Path) -> Results:
    """Read a run directory written by `RunWriter`."""
    header_file = path / HEADER_FILE
    if not header_file.is_file():
        raise ResultsError(f"{path}: not a pricebench run (no {HEADER_FILE})")
    try:
        header = RunHeader.model_validate_json(header_file.read_text(encoding="utf-8"))
    except ValidationError as error:
        reason = error.errors()[0]["msg"]
        raise ResultsError(f"{header_file}: not a valid run header ({reason})") from None
    if header.format_version != FORMAT_VERSION:
        raise ResultsError(
            f"{header_file}: results format {header.format_version}, this pricebench reads "
            f"{FORMAT_VERSION}"
        )
    return Results(header, list(_read_records(path / ITEMS_FILE).values()), path)


def _read_records(items_file: Path) -> dict[str, ItemResult]:
    records: dict[str, ItemResult] = {}
    if not items_file.exists():
        return records
    lines = read_jsonl(items_file, _parse_record, invalid="not a valid item record", torn_tail=True)
    for _, record in lines:
        records.pop(record.id, None)  # keep file order of the latest record per id
        records[record.id] = record
    return records


def _parse_record(line: bytes) -> ItemResult:
    """The record on `line`; a ValidationError when it holds none.

    Earlier versions appended onto a line torn by a crash, gluing a fragment to the next
    record: `{"id": "i4", "tit{"id": "i4", ...}`. The whole record at the end is taken (the
    fragment's item was priced again in it), so that such directories can be read and resumed.
    """
    try:
        return ItemResult.model_validate_json(line)
    except ValidationError:
        start = line.rfind(b'{"id":')
        if start <= 0:
            raise
    return ItemResult.model_validate_json(line[start:])


class RunWriter:
    """Writes a run directory as the run goes, and reopens one to resume it."""

    def __init__(self, path: Path | None, header: RunHeader, records: dict[str, ItemResult]):
        self.path = path
        self.header = header
        self.records = records
        self.repaired: str | None = None
        self.previous_status: Status | None = None  # of the run this one resumes, if any
        self.unrecorded: list[str] = []  # ids in flight when the run it resumes ended
        self._file: IO[bytes] | None = None
        self._lock: RunLock | None = None
        self._started = StartedLog(path) if path is not None else None

    @classmethod
    def open(cls, path: Path, header: RunHeader, *, overwrite: bool = False) -> RunWriter:
        """Start the run at `path`, or continue the one there if it is the same run.

        "The same run" means the same pricer name, the same evaluated items (fingerprint) and the
        same parameters, but for those that change how a run goes rather than what it guesses
        (`header.resumable`, from the pricer: a bigger budget may continue a run that hit its cap).
        A directory that holds other files but no run is refused, even with `overwrite`.
        `repaired` says what was fixed in the directory before resuming (a partial last line).
        """
        try:
            resuming = (path / HEADER_FILE).exists()
            if not resuming:
                _check_fresh_directory(path)
            created = not path.exists()
            path.mkdir(parents=True, exist_ok=True)
            lock = RunLock.acquire(path)
        except OSError as error:
            raise cannot_write(path, error) from None
        try:
            repaired, previous = None, None
            if resuming and not overwrite:
                repaired = repair_tail(path / ITEMS_FILE)
                previous = read_run(path).header.status
                header, records = _resume(path, header)
            else:
                (path / ITEMS_FILE).unlink(missing_ok=True)
                records = {}
            writer = cls(path, header, records)
            writer._lock = lock
            writer.repaired = repaired
            writer.previous_status = previous
            writer.unrecorded = unrecorded(path, records.keys()) if previous else []
            writer._started.reset()  # type: ignore[union-attr]
            writer.write_header()
        except BaseException as error:
            lock.release()
            if created:  # nothing of this run is left behind
                with contextlib.suppress(OSError):
                    path.rmdir()
            if isinstance(error, OSError):
                raise cannot_write(path, error) from None
            raise
        return writer

    @classmethod
    def in_memory(cls, header: RunHeader) -> RunWriter:
        """A writer that keeps the run in memory only (a Tester without an output directory)."""
        return cls(None, header, {})

    def add(self, record: ItemResult) -> None:
        """Keep `record`, appending it to `items.jsonl`; `StopRun` when it cannot be written."""
        if self.path is None:
            self.records[record.id] = record
            return
        items_file = self.path / ITEMS_FILE
        if self._file is None:
            self._file = items_file.open("ab", buffering=0)
        before = self._file.tell()
        try:
            _append(self._file, (record.model_dump_json() + "\n").encode("utf-8"))
        except OSError as error:
            # Take back the part that was written, so that the file ends with a whole line.
            os.ftruncate(self._file.fileno(), before)
            reason = error.strerror or str(error)
            raise StopRun(f"cannot write {items_file} ({reason}): the run stopped") from None
        self.records[record.id] = record

    def started(self, ids: Iterable[str]) -> None:
        """Note that these items' pricing begins (`pricebench.inflight`)."""
        if self._started is not None:
            self._started.add(ids)

    def finish(self, status: Status, note: str | None = None, **totals: float) -> None:
        """Record how the run ended and let go of the directory."""
        self.close()
        if self._started is not None:  # complete: every item that began has its record
            self._started.remove() if status == "complete" else self._started.close()
        self.header = self.header.model_copy(
            update={"status": status, "note": note, "finished_at": _now(), "totals": totals}
        )
        try:
            self._write_final_header()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def write_header(self) -> None:
        if self.path is None:
            return
        write_atomic(self.path / HEADER_FILE, self.header.model_dump_json(indent=2))

    def _write_final_header(self) -> None:
        """The header with how the run ended. On a full disk the atomic write (a new file) fails;
        the header is then rewritten in place, in the blocks the old one holds, so that it does
        not keep saying "running". When that fails too, stderr says what the file still says."""
        if self.path is None:
            return
        try:
            self.write_header()
            return
        except OSError as error:
            first = error
        target = self.path / HEADER_FILE
        data = self.header.model_dump_json(indent=2).encode("utf-8")
        try:
            # Only within the blocks the file already has: a write that needs a new block could
            # stop halfway and leave a broken header, worse than an old one.
            if target.stat().st_blocks * 512 < len(data):
                raise first
            with target.open("r+b") as file:
                file.write(data)
                file.truncate()
                file.flush()
                os.fsync(file.fileno())
        except OSError:
            reason = first.strerror or str(first)
            print(
                f"warning: cannot write {target} ({reason}): it still says the run is running; "
                f"it {self.header.status} (its items are kept: the same command continues it)",
                file=sys.stderr,
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def results(self) -> Results:
        return Results(self.header, list(self.records.values()), self.path)


def cannot_write(path: Path, error: OSError) -> PricebenchError:
    """One line for a run directory that cannot be written: `StopRun` for a full disk (room can
    be made, and the same command then starts the run), `ResultsError` for a place that can never
    hold it (no permission, a file in the way, a read-only file system)."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StopRun(f"cannot write {path} ({reason}): the run did not start")
    return ResultsError(f"{path}: cannot write a run there ({reason}): choose another directory")


def _resume(path: Path, header: RunHeader) -> tuple[RunHeader, dict[str, ItemResult]]:
    """The header and records of the run at `path`, if `header` describes the same run."""
    old = read_run(path)
    problem = run_mismatch(old.header, header)
    if problem:
        raise ResultsError(
            f"{path} holds {problem}: choose another output directory, or overwrite it"
        )
    header = old.header.model_copy(
        update={
            "status": "running",
            "finished_at": None,
            "params": header.params,
            "code": header.code,
            "fallback": header.fallback if header.fallback is not None else old.header.fallback,
            "trained_on": header.trained_on or old.header.trained_on,
        }
    )
    return header, {r.id: r for r in old.records}


def run_mismatch(old: RunHeader, new: RunHeader) -> str | None:
    """Why the run `old` cannot be continued as the run `new` ("a run of ... with other code
    ..."), or None when it is the same run: the same pricer name, items (fingerprint, which
    holds the currency), parameters (but for the resumable ones) and code. A header written
    before pricebench recorded the code matches any code."""
    if (old.pricer, old.fingerprint) != (new.pricer, new.fingerprint):
        return (
            f"a run of {old.pricer!r} on data {old.fingerprint} ({old.currency}), not "
            f"{new.pricer!r} on {new.fingerprint} ({new.currency})"
        )
    changed = changed_params(old.params, new.params, new.resumable)
    if changed:
        return f"a run of {new.pricer!r} with other parameters ({', '.join(changed)})"
    if None not in (old.trained_on, new.trained_on) and old.trained_on != new.trained_on:
        return (
            f"a run of {new.pricer!r} fitted on other training items (data "
            f"{old.trained_on}; now {new.trained_on})"
        )
    if old.code is not None and new.code is not None and old.code != new.code:
        return (
            f"a run of {new.pricer!r} made by other code (its code: {old.code}; this pricer's: "
            f"{new.code}), whose results would be taken as this code's"
        )
    return None


def _check_fresh_directory(path: Path) -> None:
    """Refuse to start a run in a directory that holds files no run wrote (it may be data)."""
    if path.exists() and not path.is_dir():
        raise ResultsError(f"{path}: exists and is not a directory")
    if not path.is_dir():
        return
    others = sorted(p.name for p in path.iterdir() if p.name not in _FRESH_DIRECTORY_FILES)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ResultsError(
            f"{path} is not a pricebench run directory and is not empty ({shown}): "
            "choose another output directory"
        )


def repair_tail(items_file: Path) -> str | None:
    """Drop a partial last line (a crash mid-write) from `items_file`; what was done, if anything.

    A last line that is a whole record but lost its newline is kept and given one. Lines before
    the last are never touched.
    """
    if not items_file.is_file():
        return None
    with items_file.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        cut = _last_newline(handle, size) + 1
        handle.seek(cut)
        fragment = handle.read()
        try:
            ItemResult.model_validate_json(fragment)
        except ValidationError:
            handle.truncate(cut)
            return (
                f"{items_file}: dropped a partial last line ({size - cut} bytes, left by a crash "
                "mid-write); that item is priced again"
            )
        handle.write(b"\n")
        return None


def _last_newline(handle: IO[bytes], size: int) -> int:
    """The offset of the last newline before `size` in `handle`, or -1 when there is none."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        found = handle.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found
        end = start
    return -1


def _append(file: IO[bytes], data: bytes) -> None:
    """Write all of `data` to an unbuffered file (a raw write may take only part of it)."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        if not written:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


class RunLock:
    """An exclusive lock on a run directory, held by one process while it writes the run.

    The operating system lets go of it when the process ends, however it ends (kill -9 too), so a
    stale lock never blocks a resume. The lock file keeps the holder's pid, for the message.
    """

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self.fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path) -> RunLock:
        while True:
            fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _lock(fd)
            except OSError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise ResultsError(
                    f"{directory} is in use by another pricebench process (pid {holder}): wait "
                    "for it to end, or choose another output directory"
                ) from None
            if _same_file(fd, directory / LOCK_FILE):
                break
            os.close(fd)  # its holder removed the file as we opened it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        return cls(directory, fd)

    def release(self) -> None:
        """Remove the lock file, then let go of the lock: a run that ended leaves no lock behind
        (one killed with -9 leaves the file, but no lock on it)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):  # removed already, or a read-only directory
                (self.directory / LOCK_FILE).unlink()
            os.close(self.fd)  # closing the descriptor lets go of the lock
            self.fd = None


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (not removed or replaced since)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


if sys.platform == "win32":  # pragma: no cover - CI runs on Linux
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def changed_params(
    old: dict[str, Any], new: dict[str, Any], resumable: Iterable[str] = ()
) -> list[str]:
    """Names of the parameters whose values differ, compared as the header stores them, but for
    the `resumable` ones, which a resumed run may change."""
    new = json.loads(json.dumps(new, default=repr))  # tuples become lists, as on disk
    keys = (old.keys() | new.keys()) - set(resumable)
    return sorted(k for k in keys if old.get(k) != new.get(k))


def find_runs(paths: Iterable[str | Path]) -> list[Results]:
    """Every run under the given paths (a run directory, or a directory of run directories)."""
    runs = []
    for given in paths:
        path = Path(given)
        if (path / HEADER_FILE).is_file():
            runs.append(read_run(path))
        elif path.is_dir():
            found = sorted(p.parent for p in path.glob(f"*/{HEADER_FILE}"))
            if not found:
                raise ResultsError(f"{path}: no pricebench runs in this directory")
            runs.extend(read_run(p) for p in found)
        else:
            raise ResultsError(f"{path}: no such run directory")
    return runs


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def usd(amount: float) -> str:
    """US dollars spent on API calls: four decimals, six for small sums (which four hide)."""
    return f"USD {amount:,.4f}" if amount >= 0.01 else f"USD {amount:.6f}"


def money(amount: float, currency: str = "USD") -> str:
    """`amount` with its currency's sign, as the summaries print it."""
    sign = {"USD": "$", "GBP": "£", "EUR": "€"}.get(currency, currency + " ")
    return f"{sign}{amount:,.2f}"
