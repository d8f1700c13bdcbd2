"""The `Tester`: runs a pricer over items, scores every guess and keeps the results."""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pricebench.errors import PricerError, StopRun
from pricebench.items import Item, fingerprint
from pricebench.metrics import Tolerance, squared_log_error
from pricebench.pricer import Estimate, Pricer, as_pricer, estimate_one, pricer_params, to_estimate
from pricebench.results import ItemResult, Results, RunHeader, RunWriter, money

Outcome = Estimate | BaseException
# Amber as a hex colour: rich's "yellow" is drawn olive (#808000) in Jupyter.
_COLOURS = {"green": "green", "orange": "#ffb000", "red": "red"}


class Tester:
    """Runs `pricer` over `items` (the first `size` of them) and returns scored `Results`.

    With `out`, results are written to that directory as each item finishes; running again with
    the same pricer and items continues where the last run stopped (no item is priced twice).
    `workers` > 1 prices items on that many threads (for pricers that wait on a network).
    `timeout` (seconds) records an item as failed when the pricer takes longer.
    `mode="batch"` hands all items to the pricer's `batch_estimates` (provider batch jobs).
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        pricer: Pricer | Callable[[Item], Any],
        items: Sequence[Item],
        *,
        size: int | None = None,
        tolerance: Tolerance | None = None,
        workers: int = 1,
        timeout: float | None = None,
        out: str | Path | None = None,
        overwrite: bool = False,
        retry_failures: bool = False,
        mode: Literal["interactive", "batch"] = "interactive",
        dataset: str = "",
        currency: str = "USD",
        verbose: bool = False,
        progress: bool | None = None,
        batch_size: int = 256,
        fit_seconds: float | None = None,
    ) -> None:
        if workers < 1:
            raise PricerError(f"workers must be at least 1, got {workers}")
        self.pricer = as_pricer(pricer)
        self.items = list(items[:size] if size is not None else items)
        if not self.items:
            raise PricerError("Tester: no items to price")
        self.tolerance = tolerance or Tolerance()
        self.workers = workers
        self.timeout = timeout
        self.out = Path(out) if out is not None else None
        self.overwrite = overwrite
        self.retry_failures = retry_failures
        self.mode = mode
        self.dataset = dataset
        self.currency = currency
        self.verbose = verbose
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.batch_size = batch_size
        self.fit_seconds = fit_seconds
        self.console = Console(stderr=True, highlight=False)

    @classmethod
    def test(
        cls,
        pricer: Pricer | Callable[[Item], Any],
        items: Sequence[Item],
        size: int = 250,
        **options: Any,
    ) -> Results:
        """The course's one-liner: price the first `size` items, print each line and the summary."""
        options.setdefault("verbose", True)
        results = cls(pricer, items, size=size, **options).run()
        print(results.summary())
        return results

    def run(self) -> Results:
        header = RunHeader(
            pricer=self.pricer.name,
            params=pricer_params(self.pricer),
            dataset=self.dataset,
            fingerprint=fingerprint(self.items),
            n_items=len(self.items),
            tolerance=self.tolerance,
            currency=self.currency,
            mode=self.mode,
            fit_seconds=self.fit_seconds,
        )
        if self.out is None:
            writer = RunWriter.in_memory(header)
        else:
            writer = RunWriter.open(self.out, header, overwrite=self.overwrite)
        done = {r.id for r in writer.records.values() if not (self.retry_failures and r.failed)}
        pending = [item for item in self.items if item.id not in done]
        started = time.perf_counter()
        status, note = "complete", None
        try:
            with self._progress(len(self.items), len(self.items) - len(pending)) as advance:
                for item, outcome, latency in self._outcomes(pending):
                    record = self._record(item, outcome, latency)
                    writer.add(record)
                    advance(record)
        except StopRun as stop:
            status, note = "stopped", str(stop)
            self.console.print(f"[yellow]run stopped: {stop}[/yellow]")
        except KeyboardInterrupt:
            writer.finish("interrupted", "interrupted by the user", **self._totals(writer, started))
            raise
        except BaseException as error:
            writer.finish("interrupted", f"crashed: {error!r}", **self._totals(writer, started))
            raise
        writer.finish(status, note, **self._totals(writer, started))
        results = writer.results()
        if results.failures and not results.priced:  # often an unfitted or misconfigured pricer
            first = escape(results.failures[0].failure or "")
            self.console.print(
                f"[yellow]priced nothing: every item failed, e.g. {first}[/yellow]", soft_wrap=True
            )
        return results

    def _outcomes(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        if not items:
            return iter(())
        if self.mode == "batch":
            return self._batch_jobs(items)
        if self.workers > 1 or self.timeout is not None:
            return self._threaded(items)
        if hasattr(self.pricer, "predict_batch"):
            return self._chunked(items)
        return (self._attempt(item) for item in items)

    def _attempt(self, item: Item) -> tuple[Item, Outcome, float]:
        start = time.perf_counter()
        try:
            outcome: Outcome = estimate_one(self.pricer, item)
        except StopRun:
            raise
        except Exception as error:  # any failure of one item is recorded, never fatal
            outcome = error
        return item, outcome, time.perf_counter() - start

    def _chunked(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            began = time.perf_counter()
            try:
                prices = list(self.pricer.predict_batch(chunk))  # type: ignore[attr-defined]
                if len(prices) != len(chunk):
                    raise ValueError(
                        f"predict_batch returned {len(prices)} prices for {len(chunk)}"
                    )
            except StopRun:
                raise
            except Exception:  # find which item fails by pricing the chunk one at a time
                yield from (self._attempt(item) for item in chunk)
                continue
            latency = (time.perf_counter() - began) / len(chunk)
            for item, price in zip(chunk, prices, strict=True):
                try:
                    outcome: Outcome = to_estimate(price)
                except Exception as error:
                    outcome = error
                yield item, outcome, latency

    def _threaded(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pricebench")
        queue = iter(items)
        running: dict[Future, tuple[Item, float]] = {}
        try:
            while True:
                while len(running) < 2 * self.workers and (item := next(queue, None)) is not None:
                    running[pool.submit(self._attempt, item)] = (item, time.perf_counter())
                if not running:
                    return
                finished, _ = wait(running, timeout=self.timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    yield future.result()
                if self.timeout is not None:
                    now = time.perf_counter()
                    for future, (item, submitted) in list(running.items()):
                        if now - submitted > self.timeout:
                            running.pop(future)
                            future.cancel()
                            late = TimeoutError(f"no answer within {self.timeout:g} s")
                            yield item, late, now - submitted
        finally:
            # Do not wait for threads stuck in a pricer that hangs.
            pool.shutdown(wait=False, cancel_futures=True)

    def _batch_jobs(self, items: list[Item]) -> Iterator[tuple[Item, Outcome, float]]:
        batch_estimates = getattr(self.pricer, "batch_estimates", None)
        if batch_estimates is None:
            raise PricerError(f"pricer {self.pricer.name!r} has no batch mode")
        by_id = {item.id: item for item in items}
        workdir = self.out or Path(tempfile.mkdtemp(prefix="pricebench-batch-"))
        for item_id, outcome in batch_estimates(items, workdir):
            if item_id in by_id:
                yield by_id.pop(item_id), outcome, 0.0

    def _record(self, item: Item, outcome: Outcome, latency: float) -> ItemResult:
        if isinstance(outcome, BaseException):
            return ItemResult(
                id=item.id,
                title=item.title,
                truth=item.price,
                latency=latency,
                failure=f"{type(outcome).__name__}: {outcome}",
                reply=getattr(outcome, "reply", None),
            )
        guess = outcome.price
        band = self.tolerance.band(item.price, guess)
        return ItemResult(
            id=item.id,
            title=item.title,
            truth=item.price,
            guess=guess,
            error=abs(guess - item.price),
            squared_log_error=squared_log_error(item.price, guess),
            hit=band == "green",
            band=band,
            latency=latency,
            reply=outcome.reply,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost=outcome.cost,
            cached=outcome.cached,
        )

    def _progress(self, total: int, done: int) -> _ProgressContext:
        return _ProgressContext(self, total, done)

    def _line(self, number: int, record: ItemResult) -> str:
        title = escape(record.title[:40])
        if record.failed:
            failure = escape(record.failure or "")
            return f"[magenta]{number}: FAILED {failure} Item: {title}[/magenta]"
        c = self.currency
        colour = _COLOURS[record.band or "red"]
        return (
            f"[{colour}]{number}: Guess: {money(record.guess or 0.0, c)} "
            f"Truth: {money(record.truth, c)} Error: {money(record.error or 0.0, c)} "
            f"SLE: {record.squared_log_error:,.2f} Item: {title}[/{colour}]"
        )

    @staticmethod
    def _totals(writer: RunWriter, started: float) -> dict[str, float]:
        records = writer.records.values()
        return {
            "cost": math.fsum(r.cost for r in records),
            "input_tokens": float(sum(r.input_tokens for r in records)),
            "output_tokens": float(sum(r.output_tokens for r in records)),
            "seconds": round(time.perf_counter() - started, 3),
        }


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
        if self.tester.verbose:
            self.tester.console.print(self.tester._line(self.count, record), soft_wrap=True)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)
