import json
import subprocess
import sys

import pytest

from pricebench.cli import main
from pricebench.results import Results
from tests.conftest import COURSE_ITEMS, UK_TOYS


def test_run_fits_prices_and_writes_results(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            "run",
            "constant",
            "random",
            "--data",
            str(COURSE_ITEMS),
            "--size",
            "40",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    constant = Results.load(out / "constant")
    assert constant.header.n_items == 40 and constant.header.fit_seconds is not None
    assert constant.header.params == {"statistic": "mean"}
    assert "course-items.jsonl#test" in constant.header.dataset
    assert len(constant.records) == 40
    assert "constant" in capsys.readouterr().out


def test_run_again_continues_instead_of_repricing(tmp_path):
    out = tmp_path / "results"
    args = ["run", "random", "--data", str(COURSE_ITEMS), "--size", "10", "--out", str(out)]
    assert main(args) == 0
    assert main([*args[:-4], "--size", "20", "--out", str(out)]) == 2  # other items: refused
    assert main(args) == 0
    lines = (out / "random" / "items.jsonl").read_text().splitlines()
    assert len(lines) == 10


def test_run_on_a_csv_in_pounds(tmp_path):
    out = tmp_path / "results"
    code = main(
        [
            "run",
            "constant",
            "--data",
            str(UK_TOYS),
            "--text-column",
            "product_name",
            "--price-column",
            "price_gbp",
            "--id-column",
            "uniq_id",
            "--drop-unpriced",
            "--price-range",
            "0.5",
            "999.49",
            "--currency",
            "GBP",
            "--size",
            "30",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    header = json.loads((out / "constant" / "run.json").read_text())
    assert header["currency"] == "GBP" and header["n_items"] == 30


def test_report_prints_a_table_and_draws_charts(tmp_path, capsys):
    out = tmp_path / "results"
    main(["run", "constant", "--data", str(COURSE_ITEMS), "--size", "20", "--out", str(out)])
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    assert "constant" in capsys.readouterr().out
    assert (out / "constant" / "chart.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope", "--data", str(COURSE_ITEMS)], "unknown pricer 'nope'"),
        (["run", "constant", "--data", "missing.jsonl"], "missing.jsonl: no such file"),
        (["report", "no-such-dir"], "no-such-dir: no such run directory"),
        (["run", "constant", "--data", str(COURSE_ITEMS), "--param", "oops"], "KEY=VALUE"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_help_and_bad_data_exit_codes(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "t", "price": 3}\n{"id": "b", "te', encoding="utf-8")
    run = [sys.executable, "-m", "pricebench"]
    assert subprocess.run([*run, "run", "--help"], capture_output=True).returncode == 0
    done = subprocess.run(
        [*run, "run", "constant", "--data", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "bad.jsonl, line 2: invalid JSON" in done.stderr and "Traceback" not in done.stderr


def test_pricers_lists_the_builtins(capsys):
    assert main(["pricers"]) == 0
    assert {"constant", "random"} <= set(capsys.readouterr().out.split())


def test_benchmark_runs_pricers_and_ranks_them(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            "benchmark",
            "random",
            "constant",
            "--data",
            str(COURSE_ITEMS),
            "--size",
            "30",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert table.index("constant") < table.index("random")  # ranked by mean error
    assert "worse" in table  # random is significantly worse than constant
    assert {p.name for p in out.iterdir()} == {"constant", "random"}


def test_benchmark_defaults_to_every_local_pricer():
    from pricebench.cli import build_parser
    from pricebench.registry import available

    args = build_parser().parse_args(["benchmark"])
    assert "local-best" in args.specs and set(args.specs) <= set(available())
