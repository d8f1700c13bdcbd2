"""The rest of a new user's first hour (issue 14, items 7-10): progress that agrees with the
per-item lines, a narrow terminal, running outside a checkout, and the report's smaller faults."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from pricebench import Item, Tester

from .conftest import COURSE_ITEMS, UK_TOYS
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
    expensive = {item.id for item in data.test if item.price > 300}  # known to the test only

    class Picky:
        name = "picky-ensemble-of-a-long-name"

        def predict(self, item: Item) -> float:
            if item.id in expensive:
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
    from pricebench.compare import leaderboard
    from pricebench.compare.charts import leaderboard_chart

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


PAID_IN_POUNDS = """
from pricebench import Estimate


class PaidInPounds:
    \"\"\"Prices in the data's currency (pounds) from an API billed in US dollars.\"\"\"

    name = "paid"

    def __init__(self, model="m-1", options=None):
        self.model = model
        self.options = options if options is not None else {"effort": "low", "n": 2}

    def get_params(self):
        return {"model": self.model, "options": self.options}

    def predict(self, item):
        return self.estimate(item).price

    def estimate(self, item):
        return Estimate(price=30.0, input_tokens=100, output_tokens=5, cost=0.0125)
"""


@pytest.fixture
def pound_runs(tmp_path) -> Path:
    """A local run and a paid one on five UK toys (pounds), made by the console script."""
    (tmp_path / "paid.py").write_text(PAID_IN_POUNDS)
    out = tmp_path / "results"
    done = pricebench(
        "run", "constant", f"{tmp_path / 'paid.py'}:PaidInPounds", "--data", str(UK_TOYS),
        "--text-column", "product_name", "--price-column", "price_gbp", "--id-column", "uniq_id",
        "--drop-unpriced", "--currency", "GBP", "--size", "5", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_costs_say_usd_and_runs_without_paid_calls_show_a_dash(pound_runs):
    from pricebench import find_runs

    costs = {run.name: run.cost_text() for run in find_runs([pound_runs])}
    assert costs == {"constant": "-", "paid": "USD 0.0625"}
    done = pricebench("report", str(pound_runs))
    assert done.returncode == 0, done.stderr
    rows = {line.split()[1]: line for line in done.stdout.splitlines() if "complete" in line}
    assert "£" in rows["constant"] and " - " in rows["constant"] and "$" not in rows["constant"]
    assert "USD 0.0625" in rows["paid"] and "$" not in rows["paid"]


def test_html_report_lists_parameters_and_the_tolerance_in_the_datas_currency(pound_runs):
    target = pound_runs.parent / "report.html"
    done = pricebench("report", str(pound_runs), "--html", str(target))
    assert done.returncode == 0, done.stderr
    page = target.read_text(encoding="utf-8")
    assert "<dt>statistic</dt><dd>mean</dd>" in page
    assert "<dt>model</dt><dd>m-1</dd>" in page
    assert (
        "<dt>options</dt><dd>{&quot;effort&quot;: &quot;low&quot;, &quot;n&quot;: 2}</dd>" in page
    )
    assert "{&#x27;" not in page and "; params " not in page  # no raw Python dicts
    assert "hit: error under £40.00 or under 20% of the price" in page
    assert "USD 0.0625" in page and "$" not in page  # pounds for prices, USD named for costs


def test_report_writes_charts_only_where_asked(pound_runs, tmp_path):
    before = sorted(p.relative_to(pound_runs) for p in pound_runs.rglob("*"))
    done = pricebench("report", str(pound_runs))
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(pound_runs) for p in pound_runs.rglob("*")) == before
    assert "chart:" not in done.stderr
    charts = tmp_path / "charts"
    done = pricebench("report", str(pound_runs), "--charts", str(charts))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in charts.iterdir()) == ["constant.png", "cost.png", "paid.png"]
    assert sorted(p.relative_to(pound_runs) for p in pound_runs.rglob("*")) == before


def test_bow_lr_keeps_the_same_words_on_every_cpu():
    """Its 1,000 words are the most frequent, ties at the cut broken alphabetically: numpy's
    default sort broke them one way on AVX-512 CPUs and another elsewhere ($111.74 / $110.56)."""
    from collections import Counter

    from sklearn.feature_extraction.text import CountVectorizer

    from pricebench import load_dataset, make_pricer

    train = load_dataset(COURSE_ITEMS).train
    analyse = CountVectorizer(stop_words="english").build_analyzer()
    counts = Counter(word for item in train for word in analyse(item.text))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    assert ranked[999][1] == ranked[1000][1]  # a tie at the cut: the case that differed
    expected = sorted(word for word, _ in ranked[:1000])
    vectoriser = make_pricer("bow-lr").fit(train).model_.steps[0][1]
    assert sorted(vectoriser.vocabulary_) == expected
