import json
import subprocess
import sys

import pytest

from pricebench.cli import main
from pricebench.errors import StopRun
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
    assert main(["report", str(out), "--charts", str(tmp_path / "charts")]) == 0
    assert "constant" in capsys.readouterr().out
    assert (tmp_path / "charts" / "constant.png").exists()
    assert not (out / "constant" / "chart.png").exists()


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


class Named:
    """A pricer whose name, answer and failure the test chooses."""

    def __init__(self, name, answer="10", failure=None):
        self.name, self.answer, self.failure = name, answer, failure

    def predict(self, item):
        if self.failure == "stop":
            raise StopRun("cannot reach http://localhost:11434/v1: is the server running?")
        if self.failure == "interrupt":
            raise KeyboardInterrupt
        if self.failure:
            raise ConnectionError(self.failure)
        return float(self.answer)


@pytest.fixture
def named(monkeypatch):
    """Registers `named:NAME`, with the answer or failure given to the fixture's call."""

    def use(answer="10", failure=None):
        from pricebench.registry import _registered

        monkeypatch.setitem(_registered, "named", lambda name: Named(name, answer, failure))

    use()
    return use


def run_named(name, out, *extra):
    return main(["run", f"named:{name}", "--data", str(COURSE_ITEMS), "--size", "5", "--out",
                 str(out), *extra])  # fmt: skip


@pytest.mark.parametrize(
    ("name", "directory"),
    [("..", "run"), (".", "run"), ("../../x", "x"), (".hidden", "hidden"), ("a/b", "a_b")],
)
def test_a_pricer_name_never_leads_outside_out(named, tmp_path, name, directory, capsys):
    out = tmp_path / "deep" / "out"
    assert run_named(name, out) == 0
    assert sorted(p.name for p in out.iterdir()) == [directory]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]
    assert Results.load(out / directory).header.pricer == name  # the mapping is recorded
    assert f"is written to {out / directory}" in capsys.readouterr().err
    assert main(["leaderboard", str(out)]) == 0


def test_an_over_long_name_is_cut_and_kept_unique(named, tmp_path):
    out = tmp_path / "out"
    assert run_named("p" * 300, out) == 0
    assert run_named("p" * 299, out) == 0
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and all(len(n) <= 80 for n in names) and names[0] != names[1]


def test_credentials_in_a_name_reach_no_directory_file_or_output(named, tmp_path, capsys):
    out = tmp_path / "out"
    name = "m@http://user:pa55w0rd@example.com/v1?api-key=hunter22"
    assert run_named(name, out) == 0
    charts = tmp_path / "charts"
    html = tmp_path / "report.html"
    assert main(["report", str(out), "--charts", str(charts), "--html", str(html)]) == 0
    written = [p.name for p in out.rglob("*")] + [p.name for p in charts.iterdir()]
    written += [p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()]
    shown = capsys.readouterr()
    for text in [*written, html.read_text(), shown.out, shown.err]:
        assert "pa55w0rd" not in text and "hunter22" not in text


def test_exit_codes_scripts_can_rely_on(named, tmp_path, capsys):
    assert run_named("fine", tmp_path / "a") == 0
    named(answer="-5")
    assert run_named("negative", tmp_path / "b") == 4  # every guess refused: nothing priced
    named(failure="stop")
    assert run_named("dead", tmp_path / "c") == 3
    named(failure="interrupt")
    assert run_named("ctrl-c", tmp_path / "d") == 130
    assert main(["run", "named:x", "--data", str(tmp_path / "none.jsonl")]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["run", "--no-such-option"])
    assert usage.value.code == 2
    capsys.readouterr()


def test_a_stopped_run_says_why_on_one_line_and_exits_3_at_once(named, tmp_path, capsys):
    named(failure="stop")
    assert run_named("dead", tmp_path / "out") == 3
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "cannot reach" in line]
    assert lines == ["run stopped: cannot reach http://localhost:11434/v1: is the server running?"]
    header = Results.load(tmp_path / "out" / "dead").header
    assert header.status == "stopped" and "cannot reach" in header.note


def test_an_all_failed_run_exits_4_and_says_why_with_reasons_as_they_happen(
    named, tmp_path, capsys
):
    named(failure="Connection refused")
    assert run_named("down", tmp_path / "out", "-v") == 4
    captured = capsys.readouterr()
    assert captured.err.count("FAILED ConnectionError: Connection refused") == 5
    assert "all 5 items failed; most common reason (5 of 5): ConnectionError" in captured.err
    assert "nan" not in captured.out and "all items failed" in captured.out


def test_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "130 "):
        assert f"\n  {code}" in text


def test_run_fits_an_ensembles_weights_on_the_validation_split(tmp_path, monkeypatch, capsys):
    from pricebench.local.ensemble import Ensemble

    lines = COURSE_ITEMS.read_text(encoding="utf-8").splitlines()[:300]
    records = [json.loads(line) for line in lines]
    for n, record in enumerate(records):
        record["split"] = "train" if n < 200 else "validation" if n < 250 else "test"
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    seen = []
    fit = Ensemble.fit

    def spy(self, train, validation=None):
        seen.append((len(train), None if validation is None else len(validation)))
        return fit(self, train, validation)

    monkeypatch.setattr(Ensemble, "fit", spy)
    spec = "ensemble:constant+constant:median"
    assert main(["run", spec, "--data", str(data), "--out", str(tmp_path / "a")]) == 0
    assert seen == [(200, 50)]  # out-of-fold guesses on train before
    assert "weights fitted on the 50 validation items" in capsys.readouterr().err
    # scored on the validation split itself: its items must not fit the weights too
    argv = ["run", spec, "--data", str(data), "--split", "validation", "--out", str(tmp_path / "b")]
    assert main(argv) == 0
    assert seen[-1] == (200, None)
