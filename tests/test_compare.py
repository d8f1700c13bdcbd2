"""Paired tests, the leaderboard, its chart and CLI, and the shipped reference figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pricebench import ConstantPricer, Item, RandomPricer, Tester, load_dataset
from pricebench.cli import main
from pricebench.compare import compare, leaderboard, paired_test
from pricebench.compare.reference import reference_boards
from pricebench.errors import ResultsError
from pricebench.results import ItemResult, Results, RunHeader

from .conftest import COURSE_ITEMS

REFERENCE_MD = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def _errors(rng: np.random.Generator, n: int, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """Absolute errors of two pricers on the same items: shared item difficulty, own noise.

    `b` errs `effect` times more than `a` on average; effect 1.0 means no difference.
    """
    difficulty = rng.lognormal(3.5, 1.0, n)  # a few items far harder than most, as with prices
    a = difficulty * rng.lognormal(0.0, 0.5, n)
    b = effect * difficulty * rng.lognormal(0.0, 0.5, n)
    return a, b


def _rejection_rates(effect: float, seeds: int = 200, n: int = 200) -> np.ndarray:
    rejected = np.zeros(3)
    for seed in range(seeds):
        a, b = _errors(np.random.default_rng(seed), n, effect)
        c = paired_test(a, b, resamples=1000, seed=seed)
        rejected += [c.p_value < 0.05, c.sign_p_value < 0.05, c.wilcoxon_p_value < 0.05]
    return rejected / seeds


def test_paired_tests_hold_their_level_when_there_is_no_difference():
    # At alpha = 0.05 over 200 independent data sets, about 10 rejections are expected; 20 (10%)
    # is over three standard deviations above that.
    rates = _rejection_rates(effect=1.0)
    assert (rates <= 0.10).all(), rates
    assert rates[0] > 0.0  # a test that never rejects is not a test


def test_paired_tests_detect_a_real_difference():
    rates = _rejection_rates(effect=1.35)
    assert (rates >= 0.80).all(), rates


def test_paired_test_reports_direction_interval_and_counts():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0] * 20)
    b = a + 10.0
    c = paired_test(a, b, "a", "b", resamples=500)
    assert c.difference == pytest.approx(-10.0)
    assert c.ci.low == pytest.approx(-10.0) and c.ci.high == pytest.approx(-10.0)
    assert c.significant and c.better == "a"
    assert (c.wins_a, c.wins_b, c.ties) == (100, 0, 0)
    same = paired_test(a, a.copy(), resamples=500)
    assert not same.significant and same.better is None
    assert same.ties == 100 and same.sign_p_value == 1.0 and same.wilcoxon_p_value == 1.0


def _run(name: str, records: list[tuple[str, float, float | None]], **header) -> Results:
    """A run from (id, truth, guess) triples; a guess of None is a failed item."""
    results = []
    for item_id, truth, guess in records:
        if guess is None:
            results.append(ItemResult(id=item_id, title=item_id, truth=truth, failure="boom"))
        else:
            error = abs(guess - truth)
            results.append(
                ItemResult(
                    id=item_id,
                    title=item_id,
                    truth=truth,
                    guess=guess,
                    error=error,
                    squared_log_error=(np.log1p(guess) - np.log1p(truth)) ** 2,
                    hit=error < 40,
                )
            )
    defaults = {"fingerprint": "f", "n_items": len(records), "status": "complete"}
    return Results(RunHeader(pricer=name, **(defaults | header)), results)


def test_compare_scores_failures_at_the_fallback_on_the_items_both_attempted():
    a = _run("a", [("1", 100, 110), ("2", 50, None), ("3", 20, 25), ("4", 10, 10)], fallback=40)
    b = _run("b", [("1", 100, 150), ("2", 50, 55), ("3", 20, None), ("5", 30, 30)], fallback=40)
    c = compare(a, b, resamples=200)
    assert c.n == 3  # items 1-3 were asked of both; a failure counts as the $40 fallback
    assert (c.mean_error_a, c.mean_error_b) == ((10 + 10 + 5) / 3, (50 + 5 + 20) / 3)
    assert (c.failed_a, c.failed_b, c.fallback) == (1, 1, 40)
    # Without a fallback the failures cannot be scored, and are not dropped silently.
    with pytest.raises(ResultsError, match="no agreed fallback guess"):
        compare(_run("a", [("1", 100, None)]), _run("b", [("1", 100, 90)]))


def test_compare_refuses_runs_on_different_data():
    a = _run("a", [("1", 100, 110)])
    with pytest.raises(ResultsError, match="different data"):
        compare(a, _run("b", [("1", 999, 110)]))
    with pytest.raises(ResultsError, match="no item in common"):
        compare(a, _run("b", [("2", 100, 110)]))
    with pytest.raises(ResultsError, match="GBP"):
        compare(a, _run("b", [("1", 100, 110)], currency="GBP"))


@pytest.fixture(scope="module")
def course_runs() -> dict[str, Results]:
    """Real runs of the two baselines on course-items test, and one on its first 100 items."""
    data = load_dataset(COURSE_ITEMS)
    constant = ConstantPricer().fit(data.train)
    return {
        "constant": Tester(constant, data.test).run(),
        "median": Tester(ConstantPricer("median").fit(data.train), data.test).run(),
        "random": Tester(RandomPricer(), data.test).run(),
        "constant-100": Tester(constant, data.test, size=100).run(),
    }


def test_leaderboard_groups_runs_by_fingerprint_and_ranks_by_mean_error(course_runs):
    board = leaderboard(course_runs.values(), resamples=500)
    assert len(board) == 2
    full, small = board.boards
    assert [row.label for row in full.rows] == ["constant:median", "constant", "random"]
    assert [row.rank for row in full.rows] == [1, 2, 3]
    assert [row.label for row in small.rows] == ["constant"]
    assert small.n_items == 100 and full.n_items == 500
    assert full.fingerprint != small.fingerprint
    means = [row.run.mean_error for row in full.rows]
    assert means == sorted(means)
    # The random guess is far worse than the best; the best has no comparison with itself.
    assert full.rows[0].vs_best is None and not full.rows[0].worse_than_best
    assert full.rows[2].worse_than_best and full.rows[2].vs_best.p_value < 0.01
    assert full.rows[1].vs_best.n == 500
    assert "*worse*" in board.text()


def test_leaderboard_puts_runs_without_priced_items_last():
    good = _run("good", [("1", 100, 110), ("2", 50, 40)])
    broken = _run("broken", [("1", 100, None), ("2", 50, None)])
    board = leaderboard([broken, good], resamples=100)
    (only,) = board.boards
    assert [row.label for row in only.rows] == ["good", "broken"]
    assert only.rows[1].vs_best is None and only.best.label == "good"


def test_leaderboard_names_apart_two_runs_of_one_pricer(tmp_path):
    first = _run("p", [("1", 100, 110)])
    second = _run("p", [("1", 100, 150)])
    first.path, second.path = tmp_path / "one", tmp_path / "two"
    second.header.status = "stopped"
    labels = [row.label for row in leaderboard([first, second], resamples=100).boards[0].rows]
    assert labels == ["p (one)", "p (two) (stopped)"]


def test_leaderboard_chart_draws_one_bar_per_run_with_whiskers(course_runs, tmp_path):
    from pricebench.compare.charts import leaderboard_chart

    board = leaderboard(course_runs.values(), resamples=200).boards[0]
    figure = leaderboard_chart(board, tmp_path / "board.png")
    axes = figure.axes[0]
    assert len(axes.patches) == 3
    widths = sorted(p.get_width() for p in axes.patches)
    assert widths == pytest.approx(sorted(r.run.mean_error for r in board.rows))
    assert (tmp_path / "board.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_leaderboard_command(tmp_path, capsys):
    out = tmp_path / "results"
    data = ["--data", str(COURSE_ITEMS)]
    assert main(["run", "constant", "random", "--out", str(out), "--size", "120", *data]) == 0
    capsys.readouterr()
    chart = tmp_path / "board.png"
    assert main(["leaderboard", str(out), "--chart", str(chart), "--reference"]) == 0
    text = capsys.readouterr().out
    assert "constant" in text and "random" in text and "worse" in text
    assert "NOT measured on your data" in text and "gpt-4o-mini" in text
    assert chart.stat().st_size > 0
    assert main(["leaderboard", str(tmp_path / "nothing")]) == 2
    assert main(["compare", str(out / "constant"), str(out / "random")]) == 0
    summary = capsys.readouterr().out
    assert "constant vs random on 120 shared items" in summary and "constant is better" in summary
    assert main(["compare", str(out / "constant"), str(tmp_path / "nothing")]) == 2


def test_reference_figures_are_the_published_ones():
    boards = {b.edition: b for b in reference_boards()}
    assert boards["2024"].n == 250 and boards["2025"].n == 200
    assert all(b.dataset for b in boards.values())
    source = REFERENCE_MD / "course-leaderboards.md"
    if not source.exists():
        pytest.skip(f"{source} is not beside this checkout")
    text = source.read_text(encoding="utf-8")
    for edition, board in boards.items():
        section = text.split(f"## {edition} edition")[1].split("\n## ")[0]
        published = {}
        for line in section.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("|") and re.fullmatch(r"[\d.]+", cells[1]):
                published[cells[0]] = [float(c.rstrip("%")) for c in cells[1:]]
        shipped = {
            r.pricer: [r.mean_error]
            + ([r.rmsle, round(r.hit_rate * 100, 1)] if r.hit_rate is not None else [])
            for r in board.rows
        }
        assert shipped == published


def test_items_fixture_is_not_needed_for_single_pricer_boards(items: list[Item]):
    run = Tester(ConstantPricer().fit(items), items).run()
    (board,) = leaderboard([run], resamples=100).boards
    assert board.best.run is run and board.rows[0].vs_best is None


def test_compare_is_symmetric(course_runs):
    a, b = course_runs["constant"], course_runs["median"]
    ab, ba = compare(a, b, resamples=500), compare(b, a, resamples=500)
    assert ab.difference == pytest.approx(-ba.difference)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert (ab.wins_a, ab.wins_b) == (ba.wins_b, ba.wins_a)
    assert ab.ci.low == pytest.approx(-ba.ci.high) and ab.ci.high == pytest.approx(-ba.ci.low)


def test_a_leaderboard_is_subscriptable_and_prints_as_text():
    runs = [_run("good", [("1", 100, 101), ("2", 50, 52)]), _run("bad", [("1", 100, 300)])]
    board = leaderboard(runs, resamples=100)
    assert board[0][0].label == "good" and board[0][-1].label == "bad"
    assert [row.label for row in board[0]] == ["good", "bad"] and len(board[0]) == 2
    assert str(board) == board.text() and "1. good" in str(board)


def test_a_tuning_table_prints_as_a_table():
    from pricebench.tune import TuneResult

    text = str(TuneResult(trials=[], metric="mean_error", best=None).table())
    assert "trials by validation mean_error" in text and "params" in text
    assert "rich.table" not in text
