import errno
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pricebench import (
    ConstantPricer,
    Estimate,
    Item,
    PricerError,
    Results,
    ResultsError,
    StopRun,
    Tester,
    Tolerance,
)
from pricebench.items import ItemSet
from pricebench.tester import Execution

GUESSES = {"i0": 20.0, "i1": 100.0, "i2": 100.0, "i3": 150.0, "i4": 800.0}


class Lookup:
    """Guesses from a table; counts its calls. `before(item)` runs first and may raise: a crash,
    an outage or a stop in the middle of a run, by the same code that resumes it (a run is never
    continued by other code)."""

    name = "lookup"

    def __init__(self, table=GUESSES, before=None):
        self.table = table
        self.before = before
        self.calls = []

    def predict(self, item: Item) -> float:
        if self.before is not None:
            self.before(item)
        self.calls.append(item.id)
        return self.table[item.id]


def raising(**errors: BaseException):
    """A `before` that raises `errors[item.id]` for those items."""

    def before(item: Item) -> None:
        if item.id in errors:
            raise errors[item.id]

    return before


def test_metrics_match_hand_computed_values(items):
    results = Tester(Lookup(), items).run()
    # errors: 10, 50, 0, 50, 400
    assert results.mean_error == pytest.approx(102.0)
    assert results.median_error == pytest.approx(50.0)
    # hits: error < 40 or < 20% of truth -> i0 (10) and i2 (0)
    assert results.hit_rate == pytest.approx(0.4)
    sle = [(math.log1p(GUESSES[i.id]) - math.log1p(i.price)) ** 2 for i in items]
    assert results.rmsle == pytest.approx(math.sqrt(sum(sle) / 5))
    bands = {r.id: r.band for r in results.records}
    assert bands == {"i0": "green", "i1": "orange", "i2": "green", "i3": "orange", "i4": "red"}
    ci = results.scores.mean_error_ci
    assert ci.low <= results.mean_error <= ci.high
    assert (results.n_priced, results.n_failed) == (5, 0)


def test_tolerance_changes_hits(items):
    results = Tester(Lookup(), items, tolerance=Tolerance(absolute=60, relative=0.0)).run()
    assert results.hit_rate == pytest.approx(0.8)  # every error but 400 is under 60


def test_guesses_that_are_no_price_are_failures_with_the_reason(items):
    table = {"i0": -5.0, "i1": 1e308, "i2": 0.0, "i3": Estimate(price=2e9, reply="$2e9"), "i4": 400}
    results = Tester(lambda item: table[item.id], items).run()
    failed = {r.id: r.failure for r in results.failures}
    assert set(failed) == {"i0", "i1", "i3"}
    assert "guess -5 is negative" in failed["i0"]
    assert "above the ceiling of 1e+09" in failed["i1"]
    assert results.failures[-1].reply == "$2e9"
    assert math.isfinite(results.mean_error) and results.mean_error == pytest.approx(50.0)
    lenient = Tester(lambda item: table[item.id], items, max_guess=1e10).run()
    assert lenient.n_failed == 2  # the ceiling is configurable: 2e9 now scores


def test_failures_are_counted_apart_never_as_zero(items):
    def flaky(item: Item):
        if item.id == "i1":
            raise RuntimeError("service down")
        if item.id == "i3":
            return "I cannot say"
        if item.id == "i4":
            return float("nan")
        return GUESSES[item.id]

    results = Tester(flaky, items).run()
    assert (results.n_priced, results.n_failed) == (2, 3)
    assert results.mean_error == pytest.approx(5.0)  # only i0 (10) and i2 (0)
    failed = {r.id: r for r in results.failures}
    assert failed["i1"].failure == "RuntimeError: service down"
    assert failed["i3"].reply == "I cannot say" and failed["i3"].guess is None
    assert "non-finite" in failed["i4"].failure


def test_a_function_returning_text_is_parsed(items):
    truth = {item.id: item.price for item in items}
    results = Tester(lambda item: f"Price is ${truth[item.id]:,.2f}", items).run()
    assert results.mean_error == 0.0 and results.records[0].reply == "Price is $10.00"


def test_function_name_becomes_the_pricer_name(items):
    def my_guess(item):
        return 1.0

    assert Tester(my_guess, items).run().name == "my_guess"


def test_results_are_written_as_they_go_and_read_back_identically(items, tmp_path):
    out = tmp_path / "run"
    results = Tester(Lookup(), ItemSet(items, source="fixture"), out=out).run()
    lines = (out / "items.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["i0", "i1", "i2", "i3", "i4"]
    again = Results.load(out)
    assert again.header.status == "complete" and again.header.dataset == "fixture"
    assert [r.model_dump() for r in again.records] == [r.model_dump() for r in results.records]
    assert again.scores == results.scores


def test_resume_after_a_crash_prices_only_what_is_left(items, tmp_path):
    out = tmp_path / "run"

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in the middle of the run
        Tester(Lookup(before=raising(i3=KeyboardInterrupt())), items, out=out).run()
    assert Results.load(out).header.status == "interrupted"
    assert len(Results.load(out).records) == 3

    pricer = Lookup()
    results = Tester(pricer, items, out=out).run()
    assert pricer.calls == ["i3", "i4"]
    assert [r.id for r in results.records] == ["i0", "i1", "i2", "i3", "i4"]
    assert results.mean_error == pytest.approx(102.0)
    assert len((out / "items.jsonl").read_text().splitlines()) == 5  # no duplicates


def test_resume_keeps_failures_unless_asked_to_retry(items, tmp_path):
    out = tmp_path / "run"

    Tester(Lookup(before=raising(i2=ValueError("flaky"))), items, out=out).run()
    pricer = Lookup()
    assert Tester(pricer, items, out=out).run().n_failed == 1
    assert pricer.calls == []
    results = Tester(pricer, items, out=out, resume="retry-failures").run()
    assert pricer.calls == ["i2"]
    assert results.n_failed == 0 and len(results.records) == 5
    assert Results.load(out).n_failed == 0  # the later record wins on reading


def test_a_half_written_last_line_is_ignored_on_resume(items, tmp_path):
    out = tmp_path / "run"
    Tester(Lookup(), items[:2], out=out).run()
    with (out / "items.jsonl").open("a") as f:
        f.write('{"id": "i2", "tit')  # the crash came mid-write
    assert len(Results.load(out).records) == 2


def test_another_pricer_or_other_data_in_the_same_directory_is_refused(items, tmp_path):
    out = tmp_path / "run"
    Tester(Lookup(), items, out=out).run()
    with pytest.raises(ResultsError, match="holds a run of 'lookup'"):
        Tester(ConstantPricer().fit(items), items, out=out).run()
    with pytest.raises(ResultsError, match="on data"):
        Tester(Lookup(), items[:3], out=out).run()
    fresh = Tester(Lookup(), items[:3], out=out, resume="overwrite").run()
    assert len(fresh.records) == 3


def test_size_takes_the_first_items(items):
    results = Tester(Lookup(), items, size=2).run()
    assert [r.id for r in results.records] == ["i0", "i1"]
    assert results.header.n_items == 2


def test_threads_price_every_item_once(items):
    pricer = Lookup()
    results = Tester(pricer, items, workers=4).run()
    assert sorted(pricer.calls) == sorted(GUESSES)
    assert results.mean_error == pytest.approx(102.0)


def test_threads_run_slow_pricers_concurrently(items):
    barrier = threading.Barrier(5, timeout=5)

    def waits_for_all(item):
        barrier.wait()  # only passes when five items are in flight at once
        return 1.0

    assert Tester(waits_for_all, items, workers=5).run().n_failed == 0


def test_a_pricer_that_hangs_times_out_as_a_failure(items):
    release = threading.Event()

    def hangs_on_i1(item):
        if item.id == "i1":
            release.wait(10)
        return GUESSES[item.id]

    started = time.perf_counter()
    results = Tester(hangs_on_i1, items, timeout=0.3, workers=2).run()
    release.set()
    assert time.perf_counter() - started < 5
    failed = {r.id: r.failure for r in results.failures}
    assert list(failed) == ["i1"] and "no answer within 0.3 s" in failed["i1"]


def many_items(n: int) -> list[Item]:
    return [
        Item(id=f"m{k:02d}", title=f"Thing {k}", text=f"Thing {k}", price=10.0 + k)
        for k in range(n)
    ]


def test_the_timeout_runs_from_when_an_item_starts_and_stuck_threads_are_replaced():
    release = threading.Event()
    hanging = {f"m{k:02d}" for k in range(0, 36, 2)}  # 18 of 40 never answer

    def hangs_on_some(item):
        if item.id in hanging:
            release.wait(60)
            return 1.0  # a late answer, after the item timed out: must be dropped
        time.sleep(0.01)
        return 10.0 + int(item.id[1:])  # many_items' price

    started = time.perf_counter()
    try:
        results = Tester(hangs_on_some, many_items(40), timeout=0.2, workers=2).run()
    finally:
        release.set()
    assert time.perf_counter() - started < 10
    assert {r.id for r in results.failures} == hanging  # not the 22 that answer at once
    assert all("no answer within 0.2 s" in (r.failure or "") for r in results.failures)
    assert results.n_priced == 22 and results.mean_error == 0.0
    assert results.complete and len(results.records) == 40


HUNG_RUN = """
import sys, threading, pricebench
from pathlib import Path
from pricebench.cli import main
from pricebench.items import ItemSet
from pricebench.tester import Execution

class Hangs:
    name = "hangs"

    def predict(self, item):
        Path(sys.argv[1]).touch()  # tell the test that pricing has begun
        if int(item.id) % 2 or sys.argv[2] == "all":
            threading.Event().wait()  # forever
        return 10.0

pricebench.register("hangs", Hangs)
sys.exit(main(sys.argv[3:]))
"""


def hung_run(tmp_path, which, *options):
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": str(k), "text": f"t{k}", "price": 5 + k}) + "\n" for k in range(30)
        )
    )
    script = tmp_path / "hung.py"
    script.write_text(HUNG_RUN)
    out = tmp_path / "out"
    marker = tmp_path / "began"
    command = [sys.executable, str(script), str(marker), which, "run", "hangs"]
    command += ["--data", str(data), "--size", "6", "--out", str(out), "--workers", "2", *options]
    return command, marker, out


def test_a_run_with_hung_pricer_threads_still_exits(tmp_path):
    command, _, out = hung_run(tmp_path, "odd", "--timeout", "0.3")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    header = json.loads((out / "hangs" / "run.json").read_text())
    assert header["status"] == "complete"
    assert len((out / "hangs" / "items.jsonl").read_text().splitlines()) == 6


def test_ctrl_c_while_every_thread_hangs_exits_130_without_a_traceback(tmp_path):
    command, marker, out = hung_run(tmp_path, "all")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in err and "interrupted" in err
    assert json.loads((out / "hangs" / "run.json").read_text())["status"] == "interrupted"


def test_batch_pricers_are_used_in_bulk_and_isolated_on_failure(items):
    class Bulk:
        name = "bulk"

        def __init__(self):
            self.batches = []

        def predict(self, item):
            if item.id == "i3":
                raise ValueError("bad item")
            return GUESSES[item.id]

        def predict_batch(self, batch):
            self.batches.append(len(batch))
            return [self.predict(item) for item in batch]

    pricer = Bulk()
    tester = Tester(pricer, items)
    tester.execution = Execution(batch_size=2)
    results = tester.run()
    assert pricer.batches == [2, 2, 1]  # the chunk with i3 fell back to one-by-one
    assert [r.id for r in results.failures] == ["i3"]
    assert results.n_priced == 4


def test_estimates_carry_cost_and_tokens(items):
    truth = {item.id: item.price for item in items}

    def paid(item):
        return Estimate(
            price=truth[item.id], reply="Price is $1", input_tokens=10, output_tokens=2, cost=0.001
        )

    results = Tester(paid, items).run()
    assert results.cost == pytest.approx(0.005)
    assert results.header.totals["input_tokens"] == 50


def test_stop_run_ends_cleanly_and_can_resume(items, tmp_path):
    out = tmp_path / "run"
    spent = []

    def budgeted(item):
        if len(spent) == 2:
            raise StopRun("budget of $0.02 reached")
        spent.append(item.id)

    stopped = Tester(Lookup(before=budgeted), items, out=out).run()
    assert stopped.header.status == "stopped" and "budget" in stopped.header.note
    assert len(stopped.records) == 2
    assert Tester(Lookup(), items, out=out).run().header.status == "complete"


def test_no_items_and_bad_workers_are_clear_errors(items):
    with pytest.raises(PricerError, match="no items"):
        Tester(Lookup(), [])
    with pytest.raises(PricerError, match="workers"):
        Tester(Lookup(), items, workers=0)


def test_batch_mode_needs_a_pricer_with_batch_jobs(items):
    with pytest.raises(PricerError, match="has no batch mode"):
        Tester(Lookup(), items, mode="batch").run()


def test_verbose_prints_a_coloured_line_per_item(items, capsys):
    Tester.test(Lookup(), items, size=3, progress=False)
    captured = capsys.readouterr()
    assert captured.err.count("Guess: $") == 3
    assert "lookup: error $" in captured.out


def test_chart_is_written(items, tmp_path):
    figure = Tester(Lookup(), items).run().chart(tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000
    assert len(figure.axes) == 2


def test_resuming_with_other_parameters_is_refused_but_a_new_budget_is_not(items, tmp_path):
    out = tmp_path / "run"

    class Tunable(Lookup):
        resumable_params = frozenset({"budget"})  # the pricer says what may change on resume

        def __init__(self, scale=1.0, budget=None):
            super().__init__()
            self.scale, self.budget = scale, budget

        def get_params(self):
            return {"scale": self.scale, "budget": self.budget}

        def predict(self, item):
            return self.scale * super().predict(item)

    Tester(Tunable(), items[:2], out=out).run()
    with pytest.raises(ResultsError, match=r"with other parameters \(scale\)"):
        Tester(Tunable(scale=2.0), items[:2], out=out).run()
    again = Tester(Tunable(budget=5.0), items[:2], out=out).run()
    assert again.header.params == {"scale": 1.0, "budget": 5.0}
    assert len(again.records) == 2


def test_failure_records_keep_only_a_few_kb_of_a_huge_reply(items, tmp_path):
    huge = "I would not know. " * 60_000  # about 1 MB, and no price in it

    def rambles(item):
        return huge

    Tester(rambles, items[:1], out=tmp_path / "run").run()
    record = json.loads((tmp_path / "run" / "items.jsonl").read_text())
    assert record["guess"] is None and "cut: 1,080,000 characters" in record["reply"]
    assert len(record["reply"]) + len(record["failure"]) < 6_000


def test_secrets_in_errors_names_and_params_are_redacted_everywhere(items, tmp_path, capsys):
    key = "sk-proj-abcdefghijklmnop1234"

    class Leaky:
        name = "openai-compatible:m@http://user:pa55@example.com/v1?api-key=hunter22"

        def get_params(self):
            return {"base_url": "http://user:pa55@example.com/v1", "model": "m"}

        def predict(self, item):
            if item.id == "i2":
                raise StopRun(f"401 Unauthorized: Incorrect API key provided: {key}")
            raise RuntimeError(f"error body echoes Bearer {key}")

    out = tmp_path / "run"
    results = Tester(Leaky(), items, out=out, verbose=True, progress=False).run()
    printed = capsys.readouterr().err
    stored = (out / "run.json").read_text() + (out / "items.jsonl").read_text()
    for text in (stored, printed, results.summary()):
        assert key not in text and "pa55" not in text and "hunter22" not in text
    assert "[redacted]" in stored and results.header.status == "stopped"
    assert "example.com/v1" in results.header.pricer


def test_bootstrap_intervals_do_not_depend_on_completion_order(items):
    results = Tester(Lookup(), items).run()
    shuffled = Results(results.header, list(reversed(results.records)))
    assert shuffled.scores == results.scores


def test_the_summary_of_a_run_that_priced_nothing_says_why(items):
    def down(item):
        if item.id == "i0":
            raise ValueError("odd one")
        raise ConnectionError("Connection refused")

    summary = Tester(down, items).run().summary()
    assert "nan" not in summary
    assert "all 5 items failed" in summary
    assert "most common reason (4 of 5): ConnectionError: Connection refused" in summary


def test_a_torn_last_line_is_repaired_on_resume_and_that_item_priced_again(items, tmp_path, capsys):
    out = tmp_path / "run"
    Tester(Lookup(), items, out=out).run()
    items_file = out / "items.jsonl"
    whole = items_file.read_bytes()
    items_file.write_bytes(whole[: len(whole) - 25])  # a power cut in the middle of record i4
    pricer = Lookup()
    results = Tester(pricer, items, out=out).run()
    assert "dropped a partial last line" in capsys.readouterr().err
    assert pricer.calls == ["i4"]
    lines = items_file.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["i0", "i1", "i2", "i3", "i4"]
    assert Results.load(out).mean_error == results.mean_error == pytest.approx(102.0)


def test_a_whole_last_record_without_its_newline_is_kept(items, tmp_path):
    out = tmp_path / "run"
    Tester(Lookup(), items, out=out).run()
    items_file = out / "items.jsonl"
    items_file.write_bytes(items_file.read_bytes().rstrip(b"\n"))
    pricer = Lookup()
    Tester(pricer, items, out=out, resume="retry-failures").run()
    assert pricer.calls == []
    assert items_file.read_bytes().endswith(b"\n") and len(Results.load(out).records) == 5


def test_a_run_never_writes_into_a_directory_holding_other_files(items, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.jsonl").write_text("precious\n")
    for overwrite in ("continue", "overwrite"):
        with pytest.raises(ResultsError, match=r"not a pricebench run directory.*items\.jsonl"):
            Tester(Lookup(), items, out=data, resume=overwrite).run()
    assert (data / "items.jsonl").read_text() == "precious\n"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="not a directory"):
        Tester(Lookup(), items, out=tmp_path / "file").run()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Tester(Lookup(), items, out=empty).run().complete


def test_a_second_writer_on_a_running_directory_fails_at_once_naming_the_pid(items, tmp_path):
    out = tmp_path / "run"
    seen = []

    def meddle(item):
        if item.id == "i1":  # another process starts on the same directory mid-run
            for overwrite in ("continue", "overwrite"):
                with pytest.raises(ResultsError, match=rf"in use .*\(pid {os.getpid()}\)"):
                    Tester(Lookup(), items, out=out, resume=overwrite).run()
                seen.append(overwrite)

    results = Tester(Lookup(before=meddle), items, out=out).run()
    assert seen == ["continue", "overwrite"]
    assert results.complete and len(Results.load(out).records) == 5
    assert Tester(Lookup(), items, out=out).run().complete  # the lock went with the first run


def test_a_full_disk_stops_the_run_and_leaves_a_readable_file(items, tmp_path, monkeypatch):
    import pricebench.results as results_module

    out = tmp_path / "run"
    real_append = results_module._append
    calls = []

    def fills_up(file, data):
        calls.append(1)
        if len(calls) == 3:
            file.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(file, data)

    monkeypatch.setattr(results_module, "_append", fills_up)
    stopped = Tester(Lookup(), items, out=out).run()
    assert stopped.header.status == "stopped"
    assert "No space left on device" in stopped.header.note
    monkeypatch.setattr(results_module, "_append", real_append)
    again = Results.load(out)
    assert [r.id for r in again.records] == ["i0", "i1"]
    assert again.header.status == "stopped"
    assert Tester(Lookup(), items, out=out).run().complete


def test_stop_run_on_a_thread_ends_the_run_at_once(items):
    def dead(item):
        raise StopRun("cannot reach http://localhost:11434/v1: is the server running?")

    started = time.perf_counter()
    results = Tester(dead, many_items(40), workers=4, timeout=5).run()
    assert time.perf_counter() - started < 3
    assert results.header.status == "stopped" and "cannot reach" in results.header.note


def test_another_process_on_the_same_run_fails_at_once_naming_its_pid(tmp_path):
    command, marker, out = hung_run(tmp_path, "all")
    holder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        data = many_items(6)  # the lock is checked before anything else
        for overwrite in ("continue", "overwrite"):
            with pytest.raises(ResultsError, match=rf"in use by another .*\(pid {holder.pid}\)"):
                Tester(Lookup(), data, out=out / "hangs", resume=overwrite).run()
    finally:
        holder.kill()
        holder.wait(10)
    assert json.loads((out / "hangs" / "run.json").read_text())["status"] == "running"


def test_a_directory_broken_by_a_glued_fragment_reads_and_resumes(items, tmp_path):
    out = tmp_path / "run"
    Tester(Lookup(), items, out=out).run()
    items_file = out / "items.jsonl"
    lines = items_file.read_text().splitlines(keepends=True)
    # What older versions left: the torn i3 record with the re-priced one appended onto it.
    items_file.write_text("".join(lines[:3]) + lines[3][:20] + lines[3] + lines[4])
    assert [r.id for r in Results.load(out).records] == ["i0", "i1", "i2", "i3", "i4"]
    pricer = Lookup()
    assert Tester(pricer, items, out=out).run().complete and pricer.calls == []
    items_file.write_text("".join(lines[:2]) + "garbage\n" + "".join(lines[2:]))
    with pytest.raises(ResultsError, match=r"items\.jsonl, line 3: not a valid item record"):
        Results.load(out)


def test_a_line_torn_inside_a_multibyte_character_is_repaired(tmp_path):
    out = tmp_path / "run"
    euro = [Item(id=f"e{k}", title="Prix €€€€ " * 5, text="t", price=10.0 + k) for k in range(3)]
    Tester(Lookup({"e0": 1.0, "e1": 2.0, "e2": 3.0}), euro, out=out).run()
    items_file = out / "items.jsonl"
    data = items_file.read_bytes()
    cut = data.rindex("€".encode()) + 1  # in the middle of the last record's last euro sign
    items_file.write_bytes(data[:cut])
    assert len(Results.load(out).records) == 2
    pricer = Lookup({"e0": 1.0, "e1": 2.0, "e2": 3.0})
    assert Tester(pricer, euro, out=out).run().complete and pricer.calls == ["e2"]


def test_workers_never_make_a_bulk_pricer_slower(items):
    class Bulk(Lookup):
        def __init__(self):
            super().__init__()
            self.batches = []

        def predict_batch(self, batch):
            self.batches.append(len(batch))
            return [GUESSES[item.id] for item in batch]

    pricer = Bulk()
    tester = Tester(pricer, items, workers=4)
    assert tester.execution.strategy(pricer) == "bulk"
    assert tester.run().n_priced == 5
    assert pricer.batches == [5] and pricer.calls == []  # one bulk call, no item-by-item threads
    assert Tester(Lookup(), items, workers=4).execution.strategy(Lookup()) == "threads"
    assert Tester(pricer, items, timeout=5).execution.strategy(pricer) == "threads"


def test_the_items_say_what_data_and_currency_a_run_was_on(items):
    labelled = ItemSet(items, source="shop.csv", split="test", currency="GBP")
    results = Tester(Lookup(), labelled[:3]).run()  # a slice keeps the labels
    assert results.header.dataset == "shop.csv#test" and results.header.currency == "GBP"
    assert results.header.n_items == 3


def test_run_fits_a_learning_pricer_first_and_times_it(items):
    constant = ConstantPricer()
    train = [item.model_copy(update={"id": f"t{item.id}"}) for item in items]
    results = Tester(constant, items).run(fit_on=train)
    assert results.header.fit_seconds is not None and constant.value_ > 0
    lookup = Lookup()
    assert Tester(lookup, items).run(fit_on=items).header.fit_seconds is None  # it does not learn


def test_resume_continues_a_saved_run_on_the_same_items(items, tmp_path):
    out = tmp_path / "run"

    stopper = Lookup(before=raising(i2=StopRun("budget reached")))
    assert Tester(stopper, items, out=out).run().header.status == "stopped"
    results = Tester.resume(out, Lookup(), items=items).run()
    assert results.complete and results.n_priced == 5
    with pytest.raises(ResultsError, match="not those the run was started on"):
        Tester.resume(out, Lookup(), items=items[:4])


def test_resume_reads_the_data_file_again(tmp_path):
    data = tmp_path / "items.jsonl"
    rows = [
        {"id": f"i{n}", "title": f"T{n}", "text": f"T{n}", "price": 5.0 + n, "split": split}
        for n, split in enumerate(["test", "test", "test", "train"])
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    from pricebench import load_dataset

    out = tmp_path / "run"
    Tester(Lookup(), load_dataset(data).test, out=out).run()
    again = Tester.resume(out, Lookup(), resume="retry-failures").run()
    assert again.header.dataset == f"{data}#test" and len(again.records) == 3


def test_an_unknown_resume_policy_is_refused(items):
    with pytest.raises(PricerError, match="resume must be"):
        Tester(Lookup(), items, resume="sometimes")


def test_continuing_a_stopped_run_prices_its_failures_again(items, tmp_path):
    out = tmp_path / "run"

    outage = raising(i1=ConnectionError("server down"), i2=StopRun("cannot reach the server"))
    first = Tester(Lookup(before=outage), items, out=out).run()
    assert first.header.status == "stopped" and [r.id for r in first.failures] == ["i1"]
    again = Tester(Lookup(), items, out=out).run()  # "run the same command again"
    assert again.complete and again.n_failed == 0 and again.n_priced == 5


def test_a_size_below_one_is_refused(items):
    with pytest.raises(PricerError, match="size must be at least 1"):
        Tester(Lookup(), items, size=-3)
