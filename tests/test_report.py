"""The self-contained HTML report, from real saved runs."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from pricebench import Item, Tester, load_dataset
from pricebench.cli import main
from pricebench.compare.report import html_report
from pricebench.results import find_runs

from .conftest import COURSE_ITEMS

# The baselines and the fastest trainable local pricer (issue 3).
LOCAL_SPECS = ("constant", "random", "bow-lr")


class _Page(HTMLParser):
    """Collects what a browser would fetch, the images, and the text of headings and tables."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.images: list[str] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self.scripts = 0
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                (self.images if tag == "img" else self.fetches).append(attrs[name])
        self.scripts += tag == "script"
        self._in_heading = tag in ("h1", "h2", "h3")

    def handle_endtag(self, tag):
        self._in_heading = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_heading:
            self.headings.append(data)


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    """Real runs of the local pricers through the CLI, plus one whose pricer fails sometimes."""
    out = tmp_path_factory.mktemp("results")
    args = ["run", *LOCAL_SPECS, "--out", str(out), "--size", "150", "--data", str(COURSE_ITEMS)]
    assert main(args) == 0
    test = load_dataset(COURSE_ITEMS).test[:150]

    def picky(item: Item) -> float:
        if item.id.startswith(("0", "1")):
            raise ValueError("no price in <reply>")
        return 42.0

    Tester(picky, test, out=out / "picky").run()
    return out


@pytest.fixture(scope="module")
def report(saved_runs, tmp_path_factory) -> tuple[str, str]:
    target = tmp_path_factory.mktemp("report") / "report.html"
    page = html_report(find_runs([saved_runs]), target, worst=5, reference=True)
    return page, target.read_text(encoding="utf-8")


def test_report_is_one_self_contained_page(report):
    page, written = report
    assert written == page
    parsed = _Page()
    parsed.feed(page)
    assert parsed.fetches == [] and parsed.scripts == 0  # nothing to load from anywhere
    # The leaderboard chart plus one chart per run, each a real PNG inlined (local runs cost
    # nothing: no cost chart).
    assert len(parsed.images) == 1 + 4
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_holds_leaderboard_worst_items_failures_and_reference(saved_runs, report):
    runs = find_runs([saved_runs])
    page = report[0]
    parsed = _Page()
    parsed.feed(page)
    headings = parsed.headings
    assert "Leaderboard" in headings
    assert {"constant", "random", "bow-lr", "picky"} <= set(headings)
    assert headings.count("Worst 5 items") == 4
    failed = next(r for r in runs if r.name == "picky").failures
    assert failed and f"Failures ({len(failed)})" in headings
    # Failure messages come from pricers and model replies: shown as text, never as markup.
    assert "no price in &lt;reply&gt;" in page and "<reply>" not in page
    # The worst item of the random run is listed with its error.
    random_run = next(r for r in runs if r.name == "random")
    worst = max(random_run.priced, key=lambda r: r.error)
    assert f"${worst.error:,.2f}" in page
    assert "NOT measured on your data".lower() in page.lower()
    assert "gpt-4o-mini" in page


def test_report_without_reference_does_not_mix_in_published_figures(saved_runs):
    page = html_report(find_runs([saved_runs / "picky"]))
    assert "gpt-4o-mini" not in page and "Course reference" not in page


def test_report_command_writes_html_and_keeps_its_charts(saved_runs, tmp_path, capsys):
    target = tmp_path / "out.html"
    charts = tmp_path / "charts"
    runs = [str(saved_runs / "constant"), str(saved_runs / "bow-lr")]
    code = main(["report", *runs, "--html", str(target), "--charts", str(charts), "--reference"])
    assert code == 0
    page = target.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 1 + 2 and "gpt-4o-mini" in page
    assert sorted(p.name for p in charts.iterdir()) == ["bow-lr.png", "constant.png"]
    assert re.search(r"bow-lr", capsys.readouterr().out)
