"""The rest of a new user's first hour (issue 14, items 7-10): progress that agrees with the
per-item lines, a narrow terminal, running outside a checkout, and the report's smaller faults."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from pricebench import Item, Tester

from .conftest import COURSE_ITEMS
from .test_first_hour import pricebench

# rich draws a live display as if stderr were a terminal (no colours, to keep the text plain)
AS_TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "100"}


class Twenty:
    name = "twenty"

    def predict(self, item: Item) -> float:
        return 20.0


# --- 7. progress --------------------------------------------------------------------------------


def test_the_progress_bar_counts_the_items_already_printed(items):
    tester = Tester(Twenty(), items, verbose=True, progress=True)
    screen = io.StringIO()
    tester.console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    tester.run()
    # After each per-item line the bar is drawn again below it: it must count that item.
    after_lines = re.findall(r"(\d+): Guess[^\n]*\n[^\r]*? (\d+)/5 ", screen.getvalue())
    assert [int(n) for n, _ in after_lines] == [1, 2, 3, 4, 5], screen.getvalue()
    assert all(line == shown for line, shown in after_lines), after_lines


def test_fitting_shows_a_spinner_with_the_time_in_a_terminal(tmp_path):
    done = pricebench(
        "run",
        "constant",
        "--data",
        str(COURSE_ITEMS),
        "--size",
        "2",
        "--out",
        str(tmp_path),
        **AS_TERMINAL,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[?25l" in done.stderr  # a live display started (the cursor is hidden)
    assert "fitting constant on 1952 training items" in done.stderr
    assert re.search(r"fitted constant in \d+\.\d s", done.stderr)


def test_fitting_outside_a_terminal_prints_plain_lines(tmp_path):
    done = pricebench(
        "run", "constant", "--data", str(COURSE_ITEMS), "--size", "2", "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr
    lines = done.stderr.splitlines()
    assert "fitting constant on 1952 training items" in lines
    assert any(re.fullmatch(r"fitted constant in \d+\.\d s", line) for line in lines)


# --- 8. help text and narrow terminals ----------------------------------------------------------


def test_compare_help_shows_a_plain_percent_sign():
    done = pricebench("compare", "--help")
    assert done.returncode == 0
    assert "95% CI" in " ".join(done.stdout.split())
    assert "%%" not in done.stdout


def test_no_help_text_shows_a_doubled_percent_sign():
    from pricebench.cli import build_parser

    parser = build_parser()
    pages = [parser.format_help()]
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for sub in action.choices.values():
            pages.append(sub.format_help())
            for inner in sub._subparsers._group_actions if sub._subparsers else ():
                pages.extend(p.format_help() for p in inner.choices.values())
    assert len(pages) > 10
    assert not [page.splitlines()[0] for page in pages if "%%" in page]


@pytest.fixture(scope="module")
def course_runs(tmp_path_factory) -> Path:
    """Three saved runs on 60 of the course's test items, one of them with failures."""
    from pricebench import ConstantPricer, load_dataset

    out = tmp_path_factory.mktemp("runs")
    data = load_dataset(COURSE_ITEMS)

    class Picky:
        name = "picky-ensemble-of-a-long-name"

        def predict(self, item: Item) -> float:
            if item.price > 300:
                raise ValueError("no guess")
            return 50.0

    for pricer in (ConstantPricer().fit(data.train), ConstantPricer(statistic="median"), Picky()):
        if isinstance(pricer, ConstantPricer) and pricer.statistic == "median":
            pricer.fit(data.train)
        name = pricer.name if not isinstance(pricer, ConstantPricer) else pricer.statistic
        Tester(pricer, data.test, size=60, out=out / name, progress=False).run()
    return out


def _visible(text: str) -> list[str]:
    """The lines as a terminal shows them (styles such as bold taken out)."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [line for line in plain.splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["leaderboard", "report"])
def test_tables_fit_an_80_column_terminal(command, course_runs):
    extra = ["--no-charts"] if command == "report" else []
    done = pricebench(command, str(course_runs), *extra, **{**AS_TERMINAL, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = _visible(done.stdout)
    assert max(len(line) for line in lines) <= 80, done.stdout
    assert "…" not in done.stdout  # nothing cut off
    text = "\n".join(lines)
    for name in ("constant:median", "picky-ensemble"):  # a long name folds, whole
        assert name in text
    # every run's mean error and its interval are there, whole
    assert len(re.findall(r"\$\d+\.\d\d", text)) >= 3
    assert len(re.findall(r"\[\d+\.\d\d, \d+\.\d\d\]", text)) >= 3


def test_a_pipe_keeps_the_full_table_one_line_per_run(course_runs):
    done = pricebench("leaderboard", str(course_runs))
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "picky" in line]
    assert len(rows) == 1 and "vs best" in done.stdout and "time" in done.stdout


# --- 9. outside a checkout ----------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run", "constant"], ["benchmark", "constant"]])
def test_without_data_the_error_says_how_to_get_some(command, tmp_path):
    done = pricebench(*command, "--out", str(tmp_path / "results"), cwd=tmp_path)
    assert done.returncode == 2
    line = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and line.startswith("error: no data")
    assert "--data PATH" in line and "pricebench data get NAME" in line
    assert not (tmp_path / "results").exists()


def test_leaderboard_reference_without_results_shows_the_course_tables(tmp_path):
    done = pricebench("leaderboard", "--reference", "--chart", "course.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("NOT measured on your data") == 2
    assert "gpt-4o-mini" in done.stdout and "Llama 3.2 3B" in done.stdout
    assert "no runs in results/ yet" in done.stderr
    assert (tmp_path / "course.png").stat().st_size > 10_000
    # without --reference there is nothing to show: still an error naming the folder
    done = pricebench("leaderboard", cwd=tmp_path)
    assert done.returncode == 2 and "results: no such run directory" in done.stderr


# --- 10. the report's smaller faults --------------------------------------------------------------


def test_reference_adds_the_course_figures_to_the_leaderboard_png(course_runs, tmp_path):
    from matplotlib.image import imread

    from pricebench import find_runs
    from pricebench.charts import leaderboard_chart
    from pricebench.compare import leaderboard

    figure = leaderboard_chart(leaderboard(find_runs([course_runs]))[0], reference=True)
    titles = [axes.get_title() for axes in figure.axes]
    assert len(titles) == 3 and titles[0].startswith("your runs on")
    assert all("NOT measured on your data" in title for title in titles[1:])
    course = [t.get_text() for t in figure.axes[2].get_yticklabels()]
    assert "GPT-5.1" in course and "GPT-5.1" not in titles[0]

    plain, marked = tmp_path / "plain.png", tmp_path / "marked.png"
    assert pricebench("leaderboard", str(course_runs), "--chart", str(plain)).returncode == 0
    done = pricebench("leaderboard", str(course_runs), "--chart", str(marked), "--reference")
    assert done.returncode == 0, done.stderr
    assert imread(marked).shape[0] > 2 * imread(plain).shape[0]  # the course's panels below
