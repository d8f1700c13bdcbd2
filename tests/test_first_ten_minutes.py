"""A new user's first ten minutes (issue 22): the main job's pricers fit faster, and each rough
edge found on a fresh clone: play's pause and table, a spreadsheet-safe sheet, examples that end
in one line, the data hint, the chart's band, tables that fit, option values, bad data files and a
full disk."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pricebench import Item, PricerError, Tester, load_dataset, make_pricer
from pricebench.local.human import HumanPricer, read_sheet, write_sheet
from pricebench.metrics import Tolerance

from .conftest import COURSE_ITEMS
from .test_first_hour import SRC, _one_line, pricebench
from .test_first_hour_more import AS_TERMINAL, _visible

ROOT = SRC.parent


def _items(n: int, **fields: object) -> list[dict]:
    return [
        {"id": f"i{k}", "title": f"thing {k}", "text": f"thing {k} blue", "price": 10.0 + k}
        | fields
        for k in range(n)
    ]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# --- 1. the main job's pricers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def course():
    return load_dataset(COURSE_ITEMS)


def test_tfidf_svr_gives_liblinears_answer_as_a_ridge(course):
    """The ridge on [x, 1] minimises LinearSVR's own objective: liblinear run to convergence
    gives the same predictions."""
    from sklearn.svm import LinearSVR

    from pricebench.local.strong import Centered, SparseText, SquaredSVR

    train, held = course.train[:400], course.test[:100]
    features = SparseText().fit([i.text for i in train])
    X, X_held = (
        features.transform([i.text for i in train]),
        features.transform([i.text for i in held]),
    )  # noqa: N806, E501
    y = np.log1p([i.price for i in train])
    liblinear = LinearSVR(
        C=1.0, epsilon=0.0, loss="squared_epsilon_insensitive", dual=True, tol=1e-8,
        max_iter=100_000, random_state=0,
    )  # fmt: skip
    expected = Centered(liblinear).fit(X, y).predict(X_held)
    closed = Centered(SquaredSVR(1.0)).fit(X, y).predict(X_held)
    assert np.abs(closed - expected).max() < 1e-3


def test_local_best_vectorises_each_kind_of_features_once(course):
    pricer = make_pricer("local-best").fit(course.train[:300])
    ridge, svr, knn = pricer.pricers_
    assert ridge.model_[0] is svr.model_[0]  # one SparseText for both
    assert knn.model_[0] is not ridge.model_[0]
    # and the shared components predict as they do on their own
    alone = svr.predict_batch(course.test[:20])
    assert np.allclose(alone, svr._to_prices(svr._raw_predict(course.test[:20])))
    assert len(pricer.predict_batch(course.test[:20])) == 20


def test_local_pricers_fit_with_one_blas_thread():
    from threadpoolctl import threadpool_info

    from pricebench.local.base import LocalPricer

    seen: list[int] = []

    class Probe:
        def fit(self, texts, y):
            seen.extend(pool["num_threads"] for pool in threadpool_info())
            return self

    class Probed(LocalPricer):
        spec = "probe"

        def __init__(self, log_target: bool = True) -> None:
            self.log_target = log_target

        def _model(self):
            return Probe()

    import sklearn.linear_model  # noqa: F401 - loads BLAS and OpenMP, as a real model does

    Probed().fit([Item(id=str(k), title="x", text="x", price=1.0 + k) for k in range(3)])
    assert seen and set(seen) == {1}


def test_benchmark_says_which_pricer_of_how_many(tmp_path):
    done = pricebench(
        "benchmark", "constant", "random", "--data", str(COURSE_ITEMS), "--size", "2",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[1/2] constant" in done.stderr and "[2/2] random" in done.stderr


# --- 2. play ------------------------------------------------------------------------------------


def test_q_pauses_the_game_and_the_same_command_continues(tmp_path):
    out = ("--out", str(tmp_path / "results"), "--data", str(COURSE_ITEMS), "--size", "3")
    first = pricebench("play", *out, stdin="25\nq\n")
    assert first.returncode == 0, first.stderr
    assert "paused after 1 of 3 items: the same command continues" in first.stderr
    assert "interrupted" not in first.stderr
    header = json.loads((tmp_path / "results" / "human" / "run.json").read_text())
    assert header["status"] == "stopped"
    ended = pricebench("play", *out, stdin="")  # end of input pauses too
    assert ended.returncode == 0 and "paused after 1 of 3" in ended.stderr
    again = pricebench("play", *out, stdin="30\n40\n")
    assert again.returncode == 0, again.stderr
    assert "your place on these 3 items" in again.stdout


def test_your_place_tells_runs_of_one_name_apart(tmp_path):
    out = ("--out", str(tmp_path / "results"), "--data", str(COURSE_ITEMS), "--size", "2")
    assert pricebench("run", "constant", *out).returncode == 0
    # the same pricer name, in another directory (the spec names a parameter)
    assert pricebench("run", "constant:statistic=mean", *out).returncode == 0
    done = pricebench("play", *out, stdin="20\n30\n", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "constant" in line]
    assert len(rows) == 2 and rows[0] != rows[1]
    assert "constant (constant)" in done.stdout
    assert "constant (constant_statistic_mean)" in done.stdout


def test_the_exported_sheet_cannot_run_formulas(tmp_path):
    risky = [
        Item(id="=1+1", title='=HYPERLINK("http://x","y")', text="@SUM(A1) plain", price=5.0),
        Item(id="-7", title="+cmd", text="+cmd\n-2 items", price=6.0),
        Item(id="ok", title="Plain title", text="Plain title, fine", price=7.0),
    ]
    sheet = write_sheet(risky, tmp_path / "sheet.csv")
    import csv

    rows = list(csv.DictReader(sheet.open(newline="", encoding="utf-8")))
    cells = [row[key] for row in rows for key in ("id", "title", "text")]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert rows[0]["title"] == '\'=HYPERLINK("http://x","y")' and rows[2]["id"] == "ok"
    # the ids still match their items once the sheet is filled
    for row, guess in zip(rows, ("10", "20", "30"), strict=True):
        row["guess"] = guess
    with sheet.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert read_sheet(sheet) == {"=1+1": 10.0, "-7": 20.0, "ok": 30.0}
    assert HumanPricer(sheet).predict(risky[1]) == 20.0


# --- 2. examples ----------------------------------------------------------------------------------


def _example(name: str, *args: str, cwd: Path, pythonpath: tuple[Path, ...] = (), **env: str):
    paths = [*map(str, pythonpath), str(SRC)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env}
    environment.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=300,
    )


@pytest.fixture
def no_openai(tmp_path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "openai.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'openai'\", name='openai')\n"
    )
    return blocker


@pytest.mark.parametrize("name", ["frontier_rag.py", "finetune_openai.py"])
def test_an_example_without_the_sdk_ends_in_one_line_naming_the_extra(name, no_openai, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    done = _example(name, str(COURSE_ITEMS), cwd=work, pythonpath=(no_openai,))
    assert done.returncode != 0
    line = _one_line(done.stderr)
    assert "pip install 'pricebench[openai]'" in line and "OPENAI_API_KEY" not in line
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["quickstart.py", "tune_local.py", "compare_local.py", "frontier_rag.py"]
)
def test_an_example_without_data_ends_in_one_line(name, tmp_path):
    done = _example(name, str(tmp_path / "missing.jsonl"), cwd=tmp_path)
    assert done.returncode != 0
    assert "missing.jsonl: no such file" in _one_line(done.stderr)


def test_the_quickstart_writes_only_under_results(tmp_path):
    done = _example("quickstart.py", str(COURSE_ITEMS), cwd=tmp_path, MPLBACKEND="Agg")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert (tmp_path / "results" / "pack-size.png").stat().st_size > 10_000


def test_no_example_writes_outside_results():
    for path in (ROOT / "examples").glob("*.py"):
        for written in re.findall(r"(?:out=|chart\()\s*f?\"([^\"]+)\"", path.read_text()):
            assert written.startswith("results/"), (path.name, written)


# --- 2. the no-data hint, the chart's band ------------------------------------------------------


def test_the_no_data_error_lists_the_dataset_names_and_the_parquet_extra(tmp_path):
    from pricebench.pipeline.hub import COURSE_DATASETS

    done = pricebench("run", "constant", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2
    line = " ".join(done.stderr.split())
    assert all(name in line for name in COURSE_DATASETS)
    assert "pip install 'pricebench[parquet]'" in line


def test_the_running_error_band_stays_above_zero(items):
    truth = {item.id: item.price for item in items}  # the test knows it; the pricer is told

    class Wild:
        name = "wild"

        def predict(self, item: Item) -> float:  # exact on most items, far off on a few
            return truth[item.id] + (900.0 if item.id.endswith("3") else 0.0)

    results = Tester(Wild(), items * 1, progress=False).run()
    figure = results.chart()
    band = figure.axes[1].collections[0]
    lows = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
    assert lows.min() >= 0.0
    assert lows.max() > 0.0


# --- 2. tables that fit -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_boards(tmp_path_factory) -> Path:
    """Two boards (runs on 40 and on 20 items); the second has a long pricer name."""
    from pricebench import ConstantPricer

    out = tmp_path_factory.mktemp("boards")
    data = load_dataset(COURSE_ITEMS)

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def predict(self, item: Item) -> float:
            return 60.0

    Tester(ConstantPricer().fit(data.train), data.test, size=40, out=out / "a").run()
    long = "an-ensemble-of-many-pricers-with-a-very-long-name-" + "x" * 20
    Tester(Named(long), data.test, size=20, out=out / "b").run()
    Tester(Named("short"), data.test, size=20, out=out / "c").run()
    return out


def test_a_leaderboard_uses_one_layout_for_all_its_tables(two_boards):
    from rich.console import Console

    from pricebench.cli.common import table_width
    from pricebench.cli.leaderboard import board_table
    from pricebench.compare.paired import leaderboard
    from pricebench.results import find_runs

    boards = list(leaderboard(find_runs([two_boards])))
    console = Console(width=1000)
    widths = sorted(table_width(console, board_table(b)) for b in boards)
    assert widths[0] < widths[1]
    columns = (widths[0] + widths[1]) // 2  # the narrower wide table fits, the other does not
    done = pricebench("leaderboard", str(two_boards), **{**AS_TERMINAL, "COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("a wider terminal shows every column") == 2
    assert "vs best [95% CI]" not in done.stdout
    assert max(len(line) for line in _visible(done.stdout)) <= columns


@pytest.mark.parametrize("environment", [AS_TERMINAL | {"COLUMNS": "80"}, {"COLUMNS": "100"}])
def test_the_model_catalogue_fits_the_width_without_cutting(environment):
    done = pricebench("models", **environment)
    assert done.returncode == 0, done.stderr
    lines = _visible(done.stdout)
    assert max(len(line) for line in lines) <= int(environment["COLUMNS"])
    assert "…" not in done.stdout
    assert "max_completion_tokens" in done.stdout


# --- 2. option values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "values"),
    [
        ("--tolerance", ["nan", "nan"]),
        ("--tolerance", ["-1", "-1"]),
        ("--tolerance", ["40", "inf"]),
        ("--timeout", ["nan"]),
        ("--timeout", ["0"]),
        ("--max-guess", ["nan"]),
        ("--max-guess", ["-5"]),
        ("--price-range", ["nan", "10"]),
    ],
)
def test_option_values_must_be_finite_and_in_range(option, values, tmp_path):
    out = tmp_path / "results"
    done = pricebench(
        "run", "constant", "--data", str(COURSE_ITEMS), "--out", str(out), option, *values
    )
    assert done.returncode == 2
    assert f"argument {option}" in done.stderr and "a finite number" in done.stderr
    assert not out.exists()


def test_the_library_refuses_values_that_are_no_numbers(items):
    with pytest.raises(ValueError, match="finite number"):
        Tolerance(float("nan"), 0.2)
    with pytest.raises(ValueError, match="finite number"):
        Tolerance(40.0, -1.0)
    with pytest.raises(PricerError, match="max_guess"):
        Tester(lambda item: 1.0, items, max_guess=float("nan"))
    with pytest.raises(PricerError, match="timeout"):
        Tester(lambda item: 1.0, items, timeout=float("nan"))


# --- 2. data files ------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_as_data(tmp_path):
    fifo = tmp_path / "items.jsonl"
    os.mkfifo(fifo)
    done = pricebench("run", "constant", "--data", str(fifo), "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "items.jsonl: not a regular file" in _one_line(done.stderr)


def test_a_file_without_train_items_is_refused_before_anything_is_written(tmp_path):
    data = _write_jsonl(tmp_path / "all-test.jsonl", _items(5, split="test"))
    out = tmp_path / "results"
    done = pricebench("run", "constant", "knn", "--data", str(data), "--out", str(out))
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert "all-test.jsonl: no training items" in line and "constant, knn" in line
    assert not out.exists()
    # a pricer that learns nothing can still price such a file
    assert pricebench("run", "random", "--data", str(data), "--out", str(out)).returncode == 0


def test_the_tester_refuses_an_empty_training_set_before_writing(tmp_path, items):
    with pytest.raises(PricerError, match="no training items to fit constant"):
        Tester(make_pricer("constant"), items, out=tmp_path / "run").run(fit_on=[])
    assert not (tmp_path / "run").exists()


def test_an_absurd_price_is_refused_with_its_file_and_line(tmp_path):
    rows = _items(3)
    rows[1]["price"] = 1e308
    data = _write_jsonl(tmp_path / "items.jsonl", rows)
    done = pricebench("run", "constant", "--data", str(data), "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "items.jsonl, line 2: price 1e+308 is above 1e+09" in _one_line(done.stderr)
    assert not (tmp_path / "r").exists()


# --- 2. a full disk -----------------------------------------------------------------------------


def _full_disk(*args: object, **kwargs: object):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_still_records_that_the_run_stopped(tmp_path, items, monkeypatch):
    from pricebench import results as results_module
    from pricebench.errors import StopRun

    class Stops:
        name = "stops"

        def predict(self, item: Item) -> float:
            if item.id == items[2].id:
                monkeypatch.setattr(results_module, "write_atomic", _full_disk)
                raise StopRun("cannot write: the disk is full")
            return 10.0

    results = Tester(Stops(), items, out=tmp_path / "run", progress=False).run()
    assert results.header.status == "stopped"
    header = json.loads((tmp_path / "run" / "run.json").read_text())
    assert header["status"] == "stopped" and "disk is full" in header["note"]


def test_when_the_status_cannot_be_written_stderr_says_so(tmp_path, items, monkeypatch, capsys):
    from pricebench import results as results_module
    from pricebench.errors import StopRun

    class Stops:
        name = "stops"

        def predict(self, item: Item) -> float:
            monkeypatch.setattr(results_module, "write_atomic", _full_disk)
            monkeypatch.setattr(results_module.os, "fsync", _full_disk)
            raise StopRun("the disk is full")

    Tester(Stops(), items, out=tmp_path / "run", progress=False).run()
    err = capsys.readouterr().err
    assert "run.json (No space left on device): it still says the run is running" in err
    assert "it stopped" in err
