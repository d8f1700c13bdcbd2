"""Bad input, faults and endings (issue 30): input is checked where it enters, before anything is
written or paid for; every way a run can end leaves a run.json whose status says how it ended,
and no lock behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pricebench.cli import main
from pricebench.results import LOCK_FILE, read_run

SRC = Path(__file__).resolve().parents[1] / "src"


def _data(tmp_path: Path, n: int = 10, **fields: object) -> Path:
    """A small JSONL file: the first 60% train, the rest test."""
    path = tmp_path / "items.jsonl"
    lines = [
        {"id": f"s{i}", "title": f"Thing {i}", "text": f"Thing {i}", "price": 10.0 + i,
         "split": "train" if i < n * 0.6 else "test", **fields}
        for i in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _start(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-m", "pricebench", *argv],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- 6. SIGTERM ----------------------------------------------------------------------------------


def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path):
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef slow(item):\n    time.sleep(0.2)\n    return 12.0\n"
    )
    data = _data(tmp_path, n=60)
    argv = ("run", "slow.py:slow", "--data", str(data), "--out", "out")
    process = _start(*argv, cwd=tmp_path)
    items = tmp_path / "out" / "slow.py_slow" / "items.jsonl"
    deadline = time.monotonic() + 60
    while not (items.exists() and items.read_text().count("\n") >= 2):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "terminated" in err
    run = read_run(tmp_path / "out" / "slow.py_slow")
    assert run.header.status == "interrupted" and "SIGTERM" in (run.header.note or "")
    assert not (run.path / LOCK_FILE).exists()  # type: ignore[operator]
    assert 2 <= len(run.records) < 24


def test_a_run_that_ends_leaves_no_lock_file(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "random", "--data", str(_data(tmp_path)), "--out", str(out)]) == 0
    assert (out / "random" / "run.json").exists()
    assert not (out / "random" / LOCK_FILE).exists()


# --- 8. a pricer without batch mode -------------------------------------------------------------


def test_batch_without_a_batch_mode_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "random", "--batch", "--data", str(_data(tmp_path)), "--out", str(out)])
    assert code == 2 and "has no batch mode" in capsys.readouterr().err
    assert not out.exists()


# --- 5. a disk already full when the run starts -------------------------------------------------


def test_a_disk_full_before_the_first_write_stops_the_run_and_leaves_nothing(
    tmp_path, capsys, monkeypatch
):
    """The first write of a run, its header, fails as os.replace / write do on a full disk."""
    import errno

    import pricebench.files

    real_write_text = Path.write_text

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self.name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write_text(self, *args, **kwargs)  # type: ignore[arg-type]

    data = _data(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setattr(pricebench.files.Path, "write_text", full)
    assert main(["run", "random", "--data", str(data), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert "run.json says why" not in err  # there is none
    assert not (out / "random").exists()  # no run.lock, no empty directory


# --- 11. a place a run cannot be written --------------------------------------------------------


def test_out_naming_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("someone's file\n")
    code = main(["run", "random", "--data", str(_data(tmp_path)), "--out", str(tmp_path / "taken")])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot write a run there (Not a directory)" in err and "Traceback" not in err
    assert (tmp_path / "taken").read_text() == "someone's file\n"


def test_an_unwritable_out_is_one_line(tmp_path, capsys):
    # /sys is read-only even for root: mkdir there fails with EPERM (or EROFS).
    code = main(["run", "random", "--data", str(_data(tmp_path)), "--out", "/sys/pricebench-out"])
    assert code == 2
    err = capsys.readouterr().err
    assert "/sys/pricebench-out/random: cannot write a run there" in err


# --- 7. a model that cannot load ----------------------------------------------------------------


def _bad_model(kind: str, tmp_path: Path) -> str:
    """A model spec that cannot load, made the way a user gets one."""
    if kind == "missing":
        return str(tmp_path / "no-such-model")
    if kind == "missing-gguf":
        return str(tmp_path / "no-such-model.Q4_0.gguf")
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "bad-config":
        (folder / "config.json").write_text("{not json")
    if kind == "text-gguf":
        (folder / "model.gguf").write_text("hello, not a model\n")
        return str(folder / "model.gguf")
    if kind == "truncated-gguf":
        from tests.test_hf_smollm2 import smollm2_gguf  # a real GGUF file, cut short

        with Path(smollm2_gguf()).open("rb") as whole:
            (folder / "model.gguf").write_bytes(whole.read(200_000))
        return str(folder / "model.gguf")
    if kind == "hub-offline":
        return "nobody-here/no-such-model"
    return str(folder)  # empty, bad-config


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "missing-gguf",
        "empty",
        "bad-config",
        "text-gguf",
        "truncated-gguf",
        "hub-offline",
    ],
)
def test_a_model_that_cannot_load_is_refused_once_before_anything_is_written(
    kind, tmp_path, capsys, monkeypatch
):
    pytest.importorskip("transformers")
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a machine without the network
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    import pricebench.hf.loading

    loads = []
    real = pricebench.hf.loading.load_tokenizer
    monkeypatch.setattr(
        "pricebench.hf.pricer.load_tokenizer", lambda source: loads.append(source) or real(source)
    )
    out = tmp_path / "out"
    argv = ["run", f"hf:{_bad_model(kind, tmp_path)}", "--data", str(_data(tmp_path, n=20))]
    code = main([*argv, "--out", str(out), "--param", "max_price=100"])
    err = capsys.readouterr().err
    assert code == 2, err
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and error[0].startswith("error: hf:"), err
    assert "Traceback" not in err and len(loads) <= 1
    assert not out.exists()


# --- 12. pricer parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("knn:n_neighbors=-1", "n_neighbors must be at least 1, got -1"),
        ("knn:n_neighbors=0", "n_neighbors must be at least 1, got 0"),
        ("knn:n_neighbors=abc", "n_neighbors must be a whole number, got 'abc'"),
        ("knn:n_neighbors=2.5", "n_neighbors must be a whole number, got 2.5"),
        ("knn:power=NaN", "power must be a finite number, got nan"),
        ("random:low=10:high=1", "0 <= low <= high, got low=10 high=1"),
        ("random:seed=true", "seed must be a whole number, got True"),
    ],
)
def test_bad_pricer_parameters_are_refused_before_anything_is_written(spec, says, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", spec, "--data", str(_data(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not out.exists()


def test_good_pricer_parameters_still_run(tmp_path):
    out = tmp_path / "out"
    data = str(_data(tmp_path, n=20))
    assert main(["run", "knn:n_neighbors=3:power=1", "random:low=5:high=50", "--data", data,
                 "--out", str(out)]) == 0  # fmt: skip


# --- 13. a price table with a NaN rate ----------------------------------------------------------


@pytest.mark.parametrize("rate", ["NaN", "Infinity", "-1", '"cheap"'])
def test_a_price_table_with_a_bad_rate_is_refused_before_any_call(
    rate, tmp_path, capsys, monkeypatch
):
    from pricebench.chat import costs

    monkeypatch.setattr(costs, "_overrides", {})
    monkeypatch.setattr(costs, "_env_loaded", False)
    table = tmp_path / "prices.json"
    table.write_text(f'{{"gpt-4o-mini": [{rate}, 0.6]}}')  # json.loads reads NaN and Infinity
    monkeypatch.setenv("PRICEBENCH_PRICES", str(table))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000")
    out = tmp_path / "out"
    # Nothing listens on port 9: a call would fail as a dead server (exit 3), not exit 2.
    argv = ["run", "openai:gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1", "--no-cache"]
    assert main([*argv, "--data", str(_data(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"price table {table}" in err and "gpt-4o-mini" in err
    assert not out.exists()


# --- 14. leaderboard --alpha --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["leaderboard", "compare"])
@pytest.mark.parametrize("alpha", ["2", "nan", "-0.1", "0", "1", "inf", "abc"])
def test_alpha_must_be_a_level_between_0_and_1(command, alpha, tmp_path, capsys):
    runs = [str(tmp_path)] if command == "leaderboard" else [str(tmp_path), str(tmp_path)]
    with pytest.raises(SystemExit) as exit_:
        main([command, *runs, "--alpha", alpha])
    assert exit_.value.code == 2
    assert "a level between 0 and 1" in capsys.readouterr().err


def test_a_good_alpha_is_used(tmp_path, capsys):
    out = tmp_path / "out"
    data = str(_data(tmp_path, n=20))
    assert main(["run", "random", "constant", "--data", data, "--out", str(out)]) == 0
    assert main(["leaderboard", str(out), "--alpha", "0.01"]) == 0


# --- 9, 10. a 400-digit price, a lone surrogate -------------------------------------------------

HUGE = 10**400


def _jsonl(tmp_path: Path, bad: dict, line: int = 3) -> Path:
    """The small data file with `bad`'s fields put into its line `line`."""
    path = _data(tmp_path)
    rows = [json.loads(text) for text in path.read_text().splitlines()]
    rows[line - 1].update(bad)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))  # "\ud800" stays escaped
    return path


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"price": HUGE}, "line 3: price 10000000000000000000... is above 1e+09"),
        ({"title": "Thing \ud800"}, "line 3: title holds a lone surrogate"),
        ({"text": "\udfff text"}, "line 3: text holds a lone surrogate"),
        ({"id": "s\ud800"}, "line 3: id holds a lone surrogate"),
    ],
)
def test_a_huge_price_or_a_lone_surrogate_is_one_line_naming_it(bad, says, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "random", "--data", str(_jsonl(tmp_path, bad)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not out.exists()


def _kept_raw_record() -> dict:
    """A record of the real raw sample that curation keeps."""
    from pricebench.pipeline.curate import CurationConfig, Rejected, curate_record
    from tests.conftest import RAW_SAMPLE

    for line in RAW_SAMPLE.open(encoding="utf-8"):
        record = json.loads(line)
        try:
            curate_record(record, CurationConfig())
        except Rejected:
            continue
        return record
    raise AssertionError("no kept record in the sample")


def test_curation_drops_huge_prices_and_lone_surrogates(tmp_path):
    from pricebench import load_items
    from pricebench.pipeline.curate import CurationConfig
    from pricebench.pipeline.stream import curate_file

    good = _kept_raw_record()
    records = [
        {**good, "parent_asin": "GOOD"},
        {**good, "parent_asin": "HUGE", "price": HUGE},
        {**good, "parent_asin": "SURROGATE", "title": good["title"] + " \ud800"},
    ]
    raw = tmp_path / "meta_Toys.jsonl"
    raw.write_text("".join(json.dumps(record) + "\n" for record in records))
    report = curate_file(raw, tmp_path / "curated.jsonl", workers=1, config=CurationConfig())
    assert report.kept == 1
    assert report.counts["price_out_of_range"] == 1 and report.counts["unencodable_text"] == 1
    assert [item.id for item in load_items(tmp_path / "curated.jsonl")] == ["GOOD"]


# --- 11. a data folder that cannot be read ------------------------------------------------------


def _as_a_user(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`pricebench ARGV` as an ordinary user: root reads every folder whatever its mode."""
    environment = {**os.environ, "PYTHONPATH": str(SRC), "HOME": str(cwd)}
    command = [sys.executable, "-m", "pricebench", *argv]
    if os.geteuid() == 0:  # as nobody (util-linux's setpriv: the interpreter may be root's only)
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def open_folder():
    """A folder everyone may use (pytest's tmp_path is the owner's only)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pricebench-hardening-"))
    folder.chmod(0o777)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


@pytest.mark.parametrize("what", ["folder", "file"])
def test_unreadable_data_is_one_line(what, open_folder):
    locked = open_folder / "locked"
    locked.mkdir()
    data = _data(locked)
    (locked if what == "folder" else data).chmod(0o000)
    result = _as_a_user("run", "random", "--data", str(data), "--out", "out", cwd=open_folder)
    assert result.returncode == 2, result.stderr
    assert str(data) in result.stderr and "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (open_folder / "out").exists()


def test_an_out_folder_without_write_permission_is_one_line(open_folder):
    data = _data(open_folder)
    data.chmod(0o644)
    (open_folder / "shut").mkdir(mode=0o555)
    result = _as_a_user("run", "random", "--data", str(data), "--out", "shut/out", cwd=open_folder)
    assert result.returncode == 2, result.stderr
    assert "shut/out/random: cannot write a run there (Permission denied)" in result.stderr


# --- 15. long CSV fields ------------------------------------------------------------------------


def test_a_csv_field_longer_than_the_csv_modules_default_loads(tmp_path):
    import csv

    from pricebench import load_dataset

    previous = csv.field_size_limit(131_072)  # the module's default, whatever ran before
    try:
        long_text = "word " * 60_000  # 300,000 characters
        path = tmp_path / "items.csv"
        rows = "".join(f'{n},"Thing {n} {long_text}",{10 + n}\n' for n in range(10))
        path.write_text("id,text,price\n" + rows)
        data = load_dataset(path)
        assert len(data.train) + len(data.test) == 10
        assert max(len(item.text) for item in data.test) > 300_000
    finally:
        csv.field_size_limit(previous)


# --- 16. records that share a parent_asin -------------------------------------------------------


def test_data_curate_keeps_one_record_per_id_and_counts_the_others(tmp_path, capsys):
    good = _kept_raw_record()
    records = [
        {**good, "parent_asin": "SAME", "title": good["title"] + " first"},
        {**good, "parent_asin": "OTHER"},
        {**good, "parent_asin": "SAME", "title": good["title"] + " second"},
    ]
    raw = tmp_path / "meta_Toys.jsonl"
    raw.write_text("".join(json.dumps(record) + "\n" for record in records))
    curated = tmp_path / "curated.jsonl"
    argv = ["data", "curate", str(raw), "--out", str(curated), "--preset", "pricebench-clean"]
    assert main([*argv, "--workers", "1"]) == 0
    assert "duplicate_id" in capsys.readouterr().out
    from pricebench import load_items

    items = load_items(curated)  # loads: no "id already used"
    assert sorted(item.id for item in items) == ["OTHER", "SAME"]
    assert next(item for item in items if item.id == "SAME").title.endswith("first")


def test_a_resumed_curation_remembers_the_ids_written_before(tmp_path):
    from pricebench.pipeline.curate import CurationConfig
    from pricebench.pipeline.stream import curate_file

    good = _kept_raw_record()
    line = json.dumps({**good, "parent_asin": "SAME"}) + "\n"
    raw = tmp_path / "meta_Toys.jsonl"
    raw.write_text(line * 6)
    report = curate_file(
        raw, tmp_path / "c.jsonl", workers=1, config=CurationConfig(), unique_ids=True,
        chunk_bytes=len(line),
    )  # fmt: skip
    assert report.kept == 1 and report.counts["duplicate_id"] == 5


# --- 17. ids that start with a quote before a formula -------------------------------------------


def test_ids_survive_the_play_sheet_round_trip(tmp_path):
    from pricebench import Item, Tester
    from pricebench.local.human import HumanPricer, write_sheet

    ids = ["'=x", "=y", "''=z", "'plain", "-5", "@a", "'", "ok"]
    items = [Item(id=i, title=f"Thing {i}", text="Thing", price=10.0) for i in ids]
    sheet = write_sheet(items, tmp_path / "sheet.csv")
    text = sheet.read_text()
    assert "\n'=y," in text and "\n''=x," in text  # still safe to open in a spreadsheet
    sheet.write_text(text.replace(",\n", ",12\n"))  # every guess filled in
    results = Tester(HumanPricer(sheet), items).run()
    assert results.n_failed == 0 and results.n_priced == len(ids)


# --- 3. a server that drips its answer ----------------------------------------------------------


@pytest.fixture
def dripping_server():
    """An OpenAI-like server on 127.0.0.1 that sends its headers, then one byte every 0.3 s of
    a body that never ends (each byte restarts a read timeout)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    stop = threading.Event()
    calls: list[float] = []

    class Drip(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers["content-length"]))
            calls.append(time.monotonic())
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "1000000")
            self.end_headers()
            try:
                while not stop.is_set():
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    stop.wait(0.3)
            except OSError:  # the client gave up and closed the connection
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", calls
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_dripping_answer_times_out_within_the_items_deadline(dripping_server, monkeypatch):
    from pricebench.chat.openai import OpenAIPricer

    url, calls = dripping_server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-drip")
    pricer = OpenAIPricer("gpt-4o-mini", base_url=url, cache=False, timeout=1.0, deadline=2.5)
    import threading

    from pricebench import Item

    item = Item(id="d1", title="Dripped", text="Dripped", price=10.0)
    outcome: list[BaseException] = []

    def price() -> None:
        try:
            pricer.estimate(item)
        except BaseException as error:  # noqa: BLE001 - kept for the assertions
            outcome.append(error)

    worker = threading.Thread(target=price, daemon=True)  # left behind if it never ends
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "still reading the dripping answer after 10 s"
    assert outcome and "timed out" in str(outcome[0]).lower(), outcome
    assert 1 <= len(calls) <= 3  # retried within the item's deadline of 2.5 s


# --- 4. a hub that never answers ----------------------------------------------------------------


@pytest.fixture
def silent_hub(hung_server):
    """A hub on 127.0.0.1 that accepts every connection and never answers."""
    return hung_server.removesuffix("/v1"), hung_server.held


def test_data_get_from_a_hub_that_never_answers_ends_with_one_line(
    silent_hub, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("huggingface_hub")
    import threading

    from huggingface_hub import constants

    from tests.hub_standin import use_hub

    url, held = silent_hub
    use_hub(monkeypatch, url, tmp_path / "cache")
    # Each attempt waits 0.2 s; huggingface_hub's own retries add about 23 s of backoff.
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 0.2)
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(main(["data", "get", "owner/name"])))
    worker.daemon = True  # left behind if it hangs, as it did
    worker.start()
    worker.join(timeout=90)
    assert not worker.is_alive(), "data get still waiting after 90 s"
    assert codes == [2]
    assert "cannot reach 127.0.0.1 (ReadTimeout)" in capsys.readouterr().err
    assert held  # it did connect


# --- 18. kill -9 with calls in flight -----------------------------------------------------------


def test_a_resume_after_kill_9_names_the_calls_that_were_in_flight(tmp_path):
    # A pricer that "bills" each call (a line in calls.txt) and then takes a while to answer.
    (tmp_path / "paid.py").write_text(
        "import time\n\n"
        "def paid(item):\n"
        "    with open('calls.txt', 'a') as calls:\n"
        "        calls.write(item.id + '\\n')\n"
        "    time.sleep(0.4)\n"
        "    return 12.0\n"
    )
    data = _data(tmp_path, n=60)
    argv = ("run", "paid.py:paid", "--data", str(data), "--out", "out", "--workers", "4")
    process = _start(*argv, cwd=tmp_path)
    run_dir = tmp_path / "out" / "paid.py_paid"
    items = run_dir / "items.jsonl"
    deadline = time.monotonic() + 60
    while not (items.exists() and items.read_text().count("\n") >= 4):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(0.2)  # mid-call: some items billed and not yet answered
    process.kill()  # kill -9
    process.communicate(timeout=30)
    recorded = {json.loads(line)["id"] for line in items.read_text().splitlines()}
    billed = (tmp_path / "calls.txt").read_text().split()
    lost = [i for i in billed if i not in recorded]
    assert lost  # calls in flight, billed, with no record

    again = subprocess.run(
        [sys.executable, "-m", "pricebench", *argv], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    said = " ".join(again.stderr.split())
    assert "were being priced when the run ended and left no record" in said
    count = int(said.split(" item(s) were being priced")[0].split()[-1])
    assert len(lost) <= count <= 4  # each billed call named; at most one a worker
    assert all(i in said for i in lost[:5])
    assert not (run_dir / "started.txt").exists()  # complete: every item has its record
