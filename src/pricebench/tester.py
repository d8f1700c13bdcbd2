"""The `Tester`: runs a pricer over items, scores every guess and keeps the results."""

from __future__ import annotations

import itertools
import math
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pricebench.errors import BudgetReached, PricerError, ResultsError, StopRun
from pricebench.inflight import in_flight_note
from pricebench.items import (
    MAX_PRICE,
    Item,
    ItemSet,
    PriceHidden,
    describe,
    fingerprint,
    hide_price,
)
from pricebench.metrics import Tolerance, squared_log_error
from pricebench.pricer import (
    Estimate,
    Pricer,
    as_pricer,
    code_identity,
    estimate_one,
    learns,
    pricer_params,
    resumable_params,
    to_estimate,
)
from pricebench.redact import redact, redact_value
from pricebench.results import ItemResult, Results, RunHeader, RunWriter, Status, money, read_run

Outcome = Estimate | BaseException
# Amber as a hex colour: rich's "yellow" is drawn olive (#808000) in Jupyter.
_COLOURS = {"green": "green", "orange": "#ffb000", "red": "red"}
MAX_GUESS = MAX_PRICE  # default ceiling: a guess above it is a failure, not a score
MAX_REPLY_CHARS = 4000  # of a reply kept in a record: enough to see what went wrong
MAX_FAILURE_CHARS = 1000  # of a failure message kept in a record
DRAIN_SECONDS = 30.0  # how long a stopped run waits for the answers already in flight
BULK_SIZE = 256  # items per predict_batch call, for a pricer that declares no bulk_size


class Shared(float):
    """A latency in seconds that is the mean over `items` items priced in one call."""

    items: int

    def __new__(cls, seconds: float, items: int) -> Shared:
        latency = super().__new__(cls, seconds)
        latency.items = items
        return latency


def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to about `limit` characters, saying how long it was."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [cut: {len(text):,} characters in all]"


class GuessError(ValueError):
    """A number that is no price: negative, not finite or absurdly large."""


Resume = Literal["continue", "retry-failures", "overwrite"]
Strategy = Literal["provider-batch", "bulk", "threads", "sequential"]


@dataclass(frozen=True)
class Execution:
    """How a Tester prices its items. The strategy follows the pricer's abilities:

    - `provider-batch` (`mode="batch"`): the pricer's `estimate_batch`, provider batch jobs;
    - `bulk`: the pricer's `predict_batch`, `batch_size` items at a time (None: the pricer's
      `bulk_size` when it declares one, as `HFPricer` does, else 256; records are written as
      each call returns, so a slow pricer declares a small size). Chosen for any pricer that
      has it, whatever `workers` says: threads never make a bulk pricer slower;
    - `threads`: `workers` threads (pricers that wait on a network), or any `timeout`;
    - `sequential`: one item after another.
    """

    workers: int = 1
    timeout: float | None = None
    mode: Literal["interactive", "batch"] = "interactive"
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise PricerError(f"workers must be at least 1, got {self.workers}")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise PricerError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.mode not in ("interactive", "batch"):
            raise PricerError(f"mode must be 'interactive' or 'batch', got {self.mode!r}")

    def strategy(self, pricer: Any) -> Strategy:
        if self.mode == "batch":
            return "provider-batch"
        if hasattr(pricer, "predict_batch") and self.timeout is None:
            return "bulk"
        if self.workers > 1 or self.timeout is not None:
            return "threads"
        return "sequential"


class Tester:
    """Runs `pricer` over `items` (the first `size` of them) and returns scored `Results`.

    What is priced: `pricer` and `items`; a `Dataset`'s splits (`data.test`) carry their source,
    split name and currency, which the run records. How: `workers`, `timeout` (seconds from when
    an item starts; a slower item is a failure) and `mode="batch"` (provider batch jobs), grouped
    as an `Execution` whose strategy follows the pricer's abilities. Where: `out`, a directory
    written as each item finishes; `resume` says what to do with a run already there:
    "continue" (price only what is left), "retry-failures" (also price its failures again) or
    "overwrite" (start over). `max_guess`: a guess must be finite, at least 0 and at most this to
    be scored; any other guess is recorded as a failure with the reason. `fallback`: the guess a
    failed item counts as when runs are ranked (docs/compare.md); by default the items' own (a
    `Dataset` split carries its training mean), else the mean price of `run(fit_on=...)`.

    The pricer never sees a true price: each item reaches it without `price` (`hide_price`), and
    a pricer that reads it stops the run, named.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        pricer: Pricer | Callable[[Item], Any],
        items: Sequence[Item],
        *,
        size: int | None = None,
        tolerance: Tolerance | None = None,
        out: str | Path | None = None,
        resume: Resume = "continue",
        workers: int = 1,
        timeout: float | None = None,
        mode: Literal["interactive", "batch"] = "interactive",
        verbose: bool = False,
        progress: bool | None = None,
        max_guess: float = MAX_GUESS,
        fallback: float | None = None,
    ) -> None:
        if resume not in ("continue", "retry-failures", "overwrite"):
            raise PricerError(
                f"resume must be 'continue', 'retry-failures' or 'overwrite', got {resume!r}"
            )
        if size is not None and size < 1:
            raise PricerError(f"size must be at least 1, got {size}")
        self.pricer = as_pricer(pricer)
        self.dataset, self.currency = describe(items)
        self.items = list(items[:size] if size is not None else items)
        if not self.items:
            raise PricerError("Tester: no items to price")
        self.tolerance = tolerance or Tolerance()
        self.out = Path(out) if out is not None else None
        self.resume_policy = resume
        self.execution = Execution(workers, timeout, mode)
        if mode == "batch" and not hasattr(self.pricer, "estimate_batch"):  # before any writing
            raise PricerError(f"pricer {self.pricer.name!r} has no batch mode")
        self.verbose = verbose
        self.progress = sys.stderr.isatty() if progress is None else progress
        if not (math.isfinite(max_guess) and max_guess > 0):
            raise PricerError(f"max_guess must be a positive number, got {max_guess}")
        self.max_guess = max_guess
        if fallback is not None and not (math.isfinite(fallback) and fallback >= 0):
            raise PricerError(f"fallback must be a price (at least 0), got {fallback}")
        self.fallback = fallback
        self._items_fallback: float | None = getattr(items, "fallback", None)
        self.console = Console(stderr=True, highlight=False)
        self._writer: RunWriter | None = None  # of the run going on

    def _started(self, ids: Iterable[str]) -> None:
        """Note items whose pricing begins, so that a resume after a kill names those it lost."""
        if self._writer is not None:
            self._writer.started(ids)

    @property
    def workers(self) -> int:
        return self.execution.workers

    @property
    def timeout(self) -> float | None:
        return self.execution.timeout

    @property
    def mode(self) -> str:
        return self.execution.mode

    @classmethod
    def test(
        cls,
        pricer: Pricer | Callable[[Item], Any],
        items: Sequence[Item],
        size: int | None = None,
        **options: Any,
    ) -> Results:
        """The course's one-liner: price the items (the first `size` of them when given, as
        everywhere else), print each line and the summary."""
        options.setdefault("verbose", True)
        results = cls(pricer, items, size=size, **options).run()
        print(results.summary())
        return results

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        pricer: Pricer | Callable[[Item], Any],
        items: Sequence[Item] | None = None,
        **options: Any,
    ) -> Tester:
        """A Tester that continues the run saved in `run_dir`, on the same items and settings.

        The items are those given, else read again: a batch run's from its batch manifests,
        another run's from the data file its header names. Either way they must be the items
        the run was started on (same fingerprint). `options` as for `Tester` (e.g. `workers`,
        `resume="retry-failures"`).
        """
        run_dir = Path(run_dir)
        header = read_run(run_dir).header
        if items is None:
            items = _saved_items(run_dir, header)
        labelled = ItemSet(items, currency=header.currency)
        labelled.source, _, labelled.split = header.dataset.partition("#")
        options.setdefault("tolerance", header.tolerance)
        options.setdefault("fallback", header.fallback)
        options.setdefault("mode", header.mode)
        tester = cls(pricer, labelled, out=run_dir, **options)
        given = fingerprint(tester.items, tester.currency)
        if given != header.fingerprint:
            raise ResultsError(
                f"{run_dir}: the items given are not those the run was started on "
                f"(fingerprint {given}, the run's {header.fingerprint})"
            )
        return tester

    def header(self, fit_on: Sequence[Item] | None = None) -> RunHeader:
        """The header of this run (fitted on `fit_on`): what is priced, on what, by which code,
        trained on what, and the guess a failure counts as in rankings (`fallback` as given,
        else the mean price of `fit_on`, else the items' own)."""
        trains = bool(fit_on) and learns(self.pricer)
        fallback = self.fallback
        if fallback is None and fit_on:
            fallback = math.fsum(item.price for item in fit_on) / len(fit_on)
        if fallback is None:
            fallback = self._items_fallback
        return RunHeader(
            pricer=redact(self.pricer.name),
            params=redact_value(pricer_params(self.pricer)),
            dataset=redact(self.dataset),
            fingerprint=fingerprint(self.items, self.currency),
            n_items=len(self.items),
            tolerance=self.tolerance,
            currency=self.currency,
            mode=self.mode,
            code=code_identity(self.pricer),
            fallback=fallback,
            trained_on=fingerprint(fit_on) if fit_on and trains else None,
            resumable=sorted(resumable_params(self.pricer)),
        )

    def run(self, fit_on: Sequence[Item] | None = None) -> Results:
        """Price the items (after fitting the pricer on `fit_on`, timed, when it learns)."""
        if fit_on is not None and learns(self.pricer) and not fit_on:
            # Refused before the run directory is written: nothing to clean up after.
            label = describe(fit_on)[0] or "fit_on"
            raise PricerError(f"{label}: no training items to fit {self.pricer.name} on")
        prepare = getattr(self.pricer, "prepare", None)
        if callable(prepare):  # a model that cannot load is refused once, before any writing
            prepare()
        if fit_on and learns(self.pricer):
            check_not_trained_on_test(self.pricer.name, fit_on, self.items)
        check_prompt_is_blind(self.pricer, self.items[0])
        header = self.header(fit_on)
        if self.out is None:
            writer = RunWriter.in_memory(header)
        else:
            # Opened before fitting: a run that cannot go on is refused before a long fit.
            overwrite = self.resume_policy == "overwrite"
            try:
                writer = RunWriter.open(self.out, header, overwrite=overwrite)
            except StopRun as stop:  # a full disk: nothing could be written, nothing was priced
                return self._not_started(header, stop)
            if writer.repaired:
                self.console.print(f"[yellow]{escape(writer.repaired)}[/yellow]", soft_wrap=True)
            if writer.unrecorded:  # calls out when it ended: perhaps billed, never recorded
                said = escape(in_flight_note(writer.unrecorded))
                self.console.print(f"[yellow]{said}[/yellow]", soft_wrap=True)
        self._writer = writer
        # A run that was stopped (a dead server, a quota) failed its last items for that reason:
        # continuing it prices them again, as "run the same command again" promises.
        retry = self.resume_policy == "retry-failures" or writer.previous_status == "stopped"
        done = {r.id for r in writer.records.values() if not (retry and r.failed)}
        pending = [item for item in self.items if item.id not in done]
        started = time.perf_counter()
        status: Status = "complete"
        note: str | None = None
        try:
            if fit_on is not None and learns(self.pricer):
                seconds = self._fit(fit_on)
                writer.header = writer.header.model_copy(update={"fit_seconds": seconds})
                writer.write_header()
                started = time.perf_counter()
            with self._progress(len(self.items), len(self.items) - len(pending)) as advance:
                for item, outcome, latency in self._outcomes(pending):
                    record = self._record(item, outcome, latency)
                    writer.add(record)
                    advance(record)
        except StopRun as stop:
            status, note = "stopped", one_line(redact(str(stop)))
            self.console.print(f"[yellow]run stopped: {escape(note)}[/yellow]", soft_wrap=True)
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM under the command line
            note = str(stop) or "interrupted by the user"
            writer.finish("interrupted", note, **self._totals(writer, started))
            raise
        except BaseException as error:
            note = one_line(redact(f"crashed: {error!r}"))
            writer.finish("interrupted", note, **self._totals(writer, started))
            raise
        writer.finish(status, note, **self._totals(writer, started))
        results = writer.results()
        if status == "complete" and results.failures and not results.priced:
            # Often an unfitted or misconfigured pricer.
            first = escape(results.failures[0].failure or "")
            self.console.print(
                f"[yellow]priced nothing: every item failed, e.g. {first}[/yellow]", soft_wrap=True
            )
        return results

    def _not_started(self, header: RunHeader, stop: StopRun) -> Results:
        """The results of a run stopped before it could write anything (its run.json too)."""
        note = one_line(redact(str(stop)))
        self.console.print(f"[yellow]run stopped: {escape(note)}[/yellow]", soft_wrap=True)
        ended = header.model_copy(update={"status": "stopped", "note": note})
        return Results(ended, [], None)

    def _fit(self, train: Sequence[Item]) -> float:
        """Fit the pricer on `train`, with a spinner in a terminal; the seconds it took."""
        name = self.pricer.name
        what = f"fitting {name} on {len(train)} training items"
        began = time.perf_counter()
        if self.console.is_terminal:  # a spinner and the time so far: a long fit is working
            spinner = Progress(
                SpinnerColumn(),
                TextColumn(escape(what)),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            with spinner:
                spinner.add_task("fit", total=None)
                self.pricer.fit(train)  # type: ignore[attr-defined]
        else:
            self.console.print(what, markup=False)
            self.pricer.fit(train)  # type: ignore[attr-defined]
        seconds = round(time.perf_counter() - began, 3)
        self.console.print(f"fitted {name} in {seconds:.1f} s", markup=False)
        return seconds

    def _outcomes(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        if not items:
            return iter(())
        strategy = self.execution.strategy(self.pricer)
        if strategy == "provider-batch":
            return self._batch_jobs(items)
        if strategy == "bulk":
            return self._chunked(items)
        if strategy == "threads":
            return self._threaded(items)
        return (self._attempt(item) for item in items)

    def _attempt(self, item: Item) -> tuple[Item, Outcome, float]:
        self._started([item.id])
        start = time.perf_counter()
        try:
            outcome: Outcome = estimate_one(self.pricer, hide_price(item, self.pricer.name))
        except StopRun:
            raise
        except PriceHidden as error:  # the truth is not the pricer's to read: no item counts
            raise StopRun(str(error)) from None
        except Exception as error:  # any failure of one item is recorded, never fatal
            outcome = error
        return item, outcome, time.perf_counter() - start

    def _chunked(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        size = self.execution.batch_size or getattr(self.pricer, "bulk_size", None) or BULK_SIZE
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            began = time.perf_counter()
            # A pricer that answers a batch with each item's Estimate (reply, tokens) or error
            # keeps them; predict_batch gives bare prices.
            batch = getattr(self.pricer, "estimate_many", None)
            batch = batch or self.pricer.predict_batch  # type: ignore[attr-defined]
            self._started(item.id for item in chunk)
            try:
                prices = list(batch([hide_price(item, self.pricer.name) for item in chunk]))
                if len(prices) != len(chunk):
                    raise ValueError(f"{batch.__name__} returned {len(prices)} for {len(chunk)}")
            except StopRun:
                raise
            except PriceHidden as error:  # as for one item: the truth is not the pricer's
                raise StopRun(str(error)) from None
            except Exception:  # find which item fails by pricing the chunk one at a time
                yield from (self._attempt(item) for item in chunk)
                continue
            latency = Shared((time.perf_counter() - began) / len(chunk), len(chunk))
            for item, price in zip(chunk, prices, strict=True):
                if isinstance(price, PriceHidden):
                    raise StopRun(str(price))
                try:
                    outcome: Outcome = price if isinstance(price, Exception) else to_estimate(price)
                except Exception as error:
                    outcome = error
                yield item, outcome, latency

    def _threaded(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        """Price `items` on `workers` threads; an item's timeout runs from when a thread takes it.

        A thread stuck in a pricer past the timeout is left behind: its item is recorded as timed
        out, its late answer is dropped, and a new thread takes its place. The threads are
        daemons, so one that never returns cannot keep the process from exiting.
        """
        todo: queue.SimpleQueue[Item] = queue.SimpleQueue()
        for item in items:
            todo.put(item)
        done: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        stop = threading.Event()
        lock = threading.Lock()
        running: dict[int, tuple[Item, float]] = {}  # thread number -> (its item, when it began)
        abandoned: set[int] = set()

        def work(number: int) -> None:
            while not stop.is_set():
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                with lock:
                    running[number] = (item, time.perf_counter())
                try:
                    outcome: tuple[bool, Any] = (False, self._attempt(item))
                except BaseException as error:  # StopRun: the main thread ends the run
                    outcome = (True, error)
                with lock:
                    running.pop(number, None)
                    if number in abandoned:  # already recorded as timed out
                        return
                done.put(outcome)

        threads = itertools.count()

        def start_thread() -> None:
            number = next(threads)
            name = f"pricebench-{number}"
            threading.Thread(target=work, args=(number,), name=name, daemon=True).start()

        for _ in range(min(self.workers, len(items))):
            start_thread()
        left = len(items)
        try:
            while left:
                try:
                    fatal, outcome = done.get(timeout=self._wait(running, lock))
                except queue.Empty:
                    pass
                else:
                    if fatal:
                        stop.set()
                        if isinstance(outcome, BudgetReached):
                            # The calls already in flight are paid for: record their answers.
                            yield from self._drain(done, running, lock)
                        raise outcome
                    left -= 1
                    yield outcome
                for item, late in self._overdue(running, abandoned, lock):
                    left -= 1
                    yield item, TimeoutError(f"no answer within {self.timeout:g} s"), late
                    start_thread()  # in place of the one left behind
        finally:
            stop.set()  # the threads take no new item; those in a pricer are not waited for

    @staticmethod
    def _drain(
        done: queue.SimpleQueue[tuple[bool, Any]],
        running: dict[int, tuple[Item, float]],
        lock: threading.Lock,
    ) -> Iterator[tuple[Item, Outcome, float]]:
        """The answers of the items still in a pricer when a budget stops the run, for up to
        `DRAIN_SECONDS` (a call still hung then is left behind, as any stop leaves it)."""
        until = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < until:
            with lock:
                busy = bool(running)
            try:
                fatal, outcome = done.get(timeout=0.05)
            except queue.Empty:
                if not busy:
                    return
                continue
            if not fatal:
                yield outcome

    def _wait(self, running: dict[int, tuple[Item, float]], lock: threading.Lock) -> float:
        """How long to wait for an answer before looking for overdue items again."""
        if self.timeout is None:
            return 0.5  # wake now and then, so that Ctrl-C is seen at once on every platform
        with lock:
            starts = [began for _, began in running.values()]
        if not starts:
            return min(0.5, self.timeout)
        return min(0.5, max(0.005, min(starts) + self.timeout - time.perf_counter()))

    def _overdue(
        self, running: dict[int, tuple[Item, float]], abandoned: set[int], lock: threading.Lock
    ) -> list[tuple[Item, float]]:
        """The items in a pricer for longer than the timeout, with how long; their threads are
        marked as left behind so that their late answers are dropped."""
        if self.timeout is None:
            return []
        now = time.perf_counter()
        with lock:
            late = [n for n, (_, began) in running.items() if now - began > self.timeout]
            abandoned.update(late)
            taken = [running.pop(n) for n in late]
        return [(item, now - began) for item, began in taken]

    def _batch_jobs(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        estimate_batch = getattr(self.pricer, "estimate_batch", None)
        if estimate_batch is None:
            raise PricerError(f"pricer {self.pricer.name!r} has no batch mode")
        by_id = {item.id: item for item in items}
        workdir = self.out or Path(tempfile.mkdtemp(prefix="pricebench-batch-"))
        for item_id, outcome in estimate_batch(items, workdir):
            if item_id in by_id:
                yield by_id.pop(item_id), outcome, 0.0

    def _record(self, item: Item, outcome: Outcome, latency: float) -> ItemResult:
        shared = getattr(latency, "items", 1)  # a bulk call's mean, not this item's own time
        if isinstance(outcome, Estimate):
            problem = self._check_guess(outcome.price)
            if problem is not None:
                return ItemResult(
                    id=item.id,
                    title=item.title,
                    category=item.category,
                    truth=item.price,
                    latency=latency,
                    latency_items=shared,
                    failure=f"{GuessError.__name__}: {problem}",
                    reply=clip(redact(outcome.reply or ""), MAX_REPLY_CHARS) or None,
                    input_tokens=outcome.input_tokens,
                    output_tokens=outcome.output_tokens,
                    cost=outcome.cost,
                    cached=outcome.cached,
                    list_cost=outcome.list_cost,
                    cache_read_tokens=outcome.cache_read_tokens,
                    cache_write_tokens=outcome.cache_write_tokens,
                )
        if isinstance(outcome, BaseException):
            reply = getattr(outcome, "reply", None)
            failure = clip(redact(f"{type(outcome).__name__}: {outcome}"), MAX_FAILURE_CHARS)
            return ItemResult(
                id=item.id,
                title=item.title,
                category=item.category,
                truth=item.price,
                latency=latency,
                latency_items=shared,
                failure=failure,
                reply=clip(redact(reply), MAX_REPLY_CHARS) if isinstance(reply, str) else None,
                # A paid call whose reply held no price still counts toward the cost.
                input_tokens=getattr(outcome, "input_tokens", 0),
                output_tokens=getattr(outcome, "output_tokens", 0),
                cache_read_tokens=getattr(outcome, "cache_read_tokens", 0),
                cache_write_tokens=getattr(outcome, "cache_write_tokens", 0),
                cost=getattr(outcome, "cost", 0.0),
                cached=getattr(outcome, "cached", False),
                list_cost=getattr(outcome, "list_cost", None),
            )
        guess = outcome.price
        band = self.tolerance.band(item.price, guess)
        return ItemResult(
            id=item.id,
            title=item.title,
            category=item.category,
            truth=item.price,
            guess=guess,
            error=abs(guess - item.price),
            squared_log_error=squared_log_error(item.price, guess),
            hit=band == "green",
            band=band,
            latency=latency,
            latency_items=shared,
            reply=clip(redact(outcome.reply), MAX_REPLY_CHARS) if outcome.reply else outcome.reply,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost=outcome.cost,
            cached=outcome.cached,
            list_cost=outcome.list_cost,
            cache_read_tokens=outcome.cache_read_tokens,
            cache_write_tokens=outcome.cache_write_tokens,
        )

    def _check_guess(self, guess: float) -> str | None:
        """Why `guess` cannot be scored, or None when it can."""
        if not math.isfinite(guess):
            return f"guess {guess} is not a finite number"
        if guess < 0:
            return f"guess {guess:g} is negative"
        if guess > self.max_guess:
            return f"guess {guess:g} is above the ceiling of {self.max_guess:g} (max_guess)"
        return None

    def _progress(self, total: int, done: int) -> _ProgressContext:
        return _ProgressContext(self, total, done)

    def _line(self, number: int, record: ItemResult) -> str:
        title = escape(record.title[:40])
        if record.failed:
            failure = escape(one_line(record.failure or ""))
            return f"[magenta]{number}: FAILED {failure} Item: {title}[/magenta]"
        c = self.currency
        colour = _COLOURS[record.band or "red"]
        guess, truth = escape(money(record.guess or 0.0, c)), escape(money(record.truth, c))
        return (
            f"[{colour}]{number}: Guess: {guess} "
            f"Truth: {truth} Error: {escape(money(record.error or 0.0, c))} "
            f"SLE: {record.squared_log_error:,.2f} Item: {title}[/{colour}]"
        )

    @staticmethod
    def _totals(writer: RunWriter, started: float) -> dict[str, float]:
        records = writer.records.values()
        return {
            "cost": math.fsum(r.cost or 0.0 for r in records),
            "cost_unknown": float(sum(r.cost is None for r in records)),
            "input_tokens": float(sum(r.input_tokens for r in records)),
            "output_tokens": float(sum(r.output_tokens for r in records)),
            "cache_read_tokens": float(sum(r.cache_read_tokens for r in records)),
            "cache_write_tokens": float(sum(r.cache_write_tokens for r in records)),
            "seconds": round(time.perf_counter() - started, 3),
        }


def check_not_trained_on_test(name: str, train: Sequence[Item], items: Sequence[Item]) -> None:
    """PricerError when items to price are among the training items: a test on items a pricer
    learned from measures its memory (knn fitted on the test items errs by $5.92)."""
    trained = {item.id for item in train}
    shared = [item.id for item in items if item.id in trained]
    if shared:
        raise PricerError(
            f"{name}: {len(shared)} of the {len(items)} items to price are among its "
            f"{len(trained)} training items (e.g. {shared[0]!r}): fit on other items than those "
            "it is tested on"
        )


def check_prompt_is_blind(pricer: Any, item: Item) -> None:
    """PricerError, before anything is written or paid for, when a chat pricer's messages depend
    on the item's true price: its messages for `item` are rendered at two prices and compared.

    A pricer whose messages cannot be rendered yet (a retrieval context before `fit`) is checked
    at run time instead, where the hidden price stops the run when it is read.
    """
    messages = getattr(pricer, "messages", None)
    if not callable(messages):
        return
    try:
        low = messages(item.model_copy(update={"price": 1.0}))
        high = messages(item.model_copy(update={"price": 987654.0}))
    except Exception:
        return
    if low != high:
        prompt = getattr(pricer, "prompt", None)
        template = type(prompt).__name__ if prompt is not None else type(pricer).__name__
        raise PricerError(
            f"{pricer.name}: its prompt template ({template}) puts the item's true price into the "
            "messages; a test must not show the answer"
        )


def one_line(text: str) -> str:
    """`text` on one line, for messages printed to the console or stored as a note."""
    return " ".join(text.split())


class _ProgressContext:
    """A progress bar (when wanted) and the coloured per-item lines (when verbose)."""

    def __init__(self, tester: Tester, total: int, done: int) -> None:
        self.tester = tester
        self.count = done
        self.bar: Progress | None = None
        if tester.progress:
            self.bar = Progress(
                TextColumn(f"[bold]{escape(tester.pricer.name)}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[failed]} failed"),
                console=tester.console,
                transient=True,
            )
            self.task = self.bar.add_task("pricing", total=total, completed=done, failed=0)
        self.failed = 0

    def __enter__(self) -> Callable[[ItemResult], None]:
        if self.bar is not None:
            self.bar.start()
        return self.advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self, record: ItemResult) -> None:
        self.count += 1
        self.failed += record.failed
        if self.bar is not None:
            # Redraw now: a line printed below re-shows the bar as last drawn, and the timed
            # redraw (10 a second) lags behind fast pricers, so it read 0/5 while items 1-5 printed.
            self.bar.update(self.task, advance=1, failed=self.failed, refresh=True)
        if self.tester.verbose:
            self.tester.console.print(self.tester._line(self.count, record), soft_wrap=True)


def _saved_items(run_dir: Path, header: RunHeader) -> list[Item]:
    """The items a saved run was started on, read again without the caller's help."""
    if header.mode == "batch":
        from pricebench.batch import run_items

        return run_items(run_dir)
    from pricebench.data import load_dataset

    source, _, split = header.dataset.partition("#")
    if not source or not Path(source).is_file():
        raise ResultsError(
            f"{run_dir}: its data ({header.dataset or 'not recorded'}) cannot be read again: "
            "pass the items to Tester.resume"
        )
    dataset = load_dataset(source, currency=header.currency)
    items = getattr(dataset, split or "test")
    return list(items[: header.n_items])
