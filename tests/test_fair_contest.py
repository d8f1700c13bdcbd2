"""The contest's rules: a ranking a careful reviewer would sign, and a test that cannot see the answer.

Each test here failed before the rule it checks existed (issue 27): a refuser ranked first, a
pricer read the true price, a changed pricer resumed an old run, pounds were shown as dollars,
a cached rerun cost "USD 0", two runs of one name shared a chart, a human's five-item sheet was
scored on 500 items.
"""

from __future__ import annotations

import csv
import functools
from collections import Counter
from pathlib import Path

import pytest

from pricebench import Item, Tester, load_dataset, make_pricer
from pricebench.chat.openai import OpenAIPricer
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.cli import main
from pricebench.compare.groups import category_scores
from pricebench.compare.paired import compare, leaderboard
from pricebench.errors import PricerError, ResultsError
from pricebench.items import PriceHidden, fingerprint, hide_price
from pricebench.results import find_runs, read_run
from tests.mock_api import MockAPI, openai_client, openai_reply

from .conftest import COURSE_ITEMS, UK_TOYS


@pytest.fixture(scope="module")
def course():
    return load_dataset(COURSE_ITEMS)


@pytest.fixture(scope="module")
def knn_run(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "knn"
    return Tester(make_pricer("knn"), course.test, out=out).run(fit_on=course.train)


class Refuser:
    """Prices only the items it was told are easy (ids chosen from knn's best guesses) and
    fails every other one: the pricer that used to rank first."""

    name = "refuser"

    def __init__(self, guesses: dict[str, float]) -> None:
        self.guesses = guesses

    def predict(self, item: Item) -> float:
        if item.id not in self.guesses:
            raise ValueError("not sure about this one")
        return self.guesses[item.id]


# --- 1. coverage-aware ranking -----------------------------------------------------------------


def test_a_pricer_that_refuses_most_items_does_not_rank_first(course, knn_run, tmp_path):
    easiest = sorted(knn_run.records, key=lambda r: r.error)[:48]
    refuser = Refuser({r.id: r.guess for r in easiest})
    refused = Tester(refuser, course.test, out=tmp_path / "refuser").run()
    assert refused.n_priced == 48 and refused.n_failed == 452
    assert refused.mean_error < knn_run.mean_error  # on its own 48 items it looks brilliant

    board = leaderboard([refused, knn_run])[0]
    assert board.best is not None and board.best.run.name == "knn"
    row = next(row for row in board.rows if row.run.name == "refuser")
    assert row.rank == 2 and row.worse_than_best
    assert row.coverage == "48/500"
    mean_train = sum(i.price for i in course.train) / len(course.train)
    assert row.fallback == pytest.approx(mean_train)
    assert row.note == "452 failed, counted as $117.19"
    # Its contest figure: its 48 errors plus |train mean - truth| for the other 452.
    truth = {i.id: i.price for i in course.test}
    expected = (
        sum(r.error for r in easiest)
        + sum(abs(mean_train - truth[i]) for i in truth if i not in refuser.guesses)
    ) / 500
    assert row.scores.mean_error == pytest.approx(expected)
    assert "refuser" in str(leaderboard([refused, knn_run])) and "48/500" in str(
        leaderboard([refused, knn_run])
    )

    # The paired test counts the failures too, and says how.
    versus = compare(refused, knn_run)
    assert versus.n == 500 and versus.failed_a == 452 and versus.better == "knn"
    assert "failures scored at the fallback guess" in versus.summary()


def test_a_run_that_did_not_attempt_every_item_is_listed_not_ranked(course, knn_run, tmp_path):
    class Stops:
        name = "stops-early"
        calls = 0

        def predict(self, item):
            Stops.calls += 1
            if Stops.calls > 20:
                raise KeyboardInterrupt
            return 1.0  # far off: but it is the rule, not the figure, that keeps it unranked

    with pytest.raises(KeyboardInterrupt):
        Tester(Stops(), course.test, out=tmp_path / "stops").run()
    partial = read_run(tmp_path / "stops")
    board = leaderboard([partial, knn_run])[0]
    row = next(row for row in board.rows if row.run.name == "stops-early")
    assert row.rank is None and row.scores is None and row.vs_best is None
    assert row.note == "not ranked: attempted 20 of 500 items (interrupted)"
    assert board.best.run.name == "knn"


def test_failures_without_a_fallback_are_not_scored_silently(items):
    def fails_one(item):
        if item.id == "i0":
            raise ValueError("no")
        return 50.0

    plain = Tester(fails_one, items).run()  # a plain list: no training mean known
    other = Tester(lambda item: 60.0, items).run()
    with pytest.raises(ResultsError, match="no agreed fallback guess"):
        compare(plain, other)
    assert compare(plain, other, fallback=100.0).failed_a == 1
    row = next(r for r in leaderboard([plain, other])[0].rows if r.run.name == "fails_one")
    assert row.rank is None and "no agreed fallback guess" in row.note


def test_the_cli_leaderboard_shows_coverage_and_why(course, knn_run, tmp_path, capsys):
    easiest = sorted(knn_run.records, key=lambda r: r.error)[:48]
    Tester(
        Refuser({r.id: r.guess for r in easiest}), course.test, out=tmp_path / "r" / "refuser"
    ).run()
    assert main(["leaderboard", str(tmp_path / "r"), str(knn_run.path)]) == 0
    out = capsys.readouterr().out
    assert "48/500" in out and "500/500" in out and "452 failed, counted as $117.19" in out
    assert out.index("knn") < out.index("refuser")


# --- 2. a test that cannot see the answer --------------------------------------------------------


def test_a_pricer_that_reads_the_price_stops_the_run_named(items, tmp_path):
    def cheat(item):
        return item.price

    results = Tester(cheat, items, out=tmp_path / "cheat").run()
    assert results.header.status == "stopped" and results.n_priced == 0
    assert "pricer 'cheat' read item.price at test time" in results.header.note
    assert read_run(tmp_path / "cheat").header.status == "stopped"


def test_fit_still_sees_the_training_prices_and_predict_does_not(items):
    seen = {}

    class Learner:
        name = "learner"
        learns = True

        def fit(self, train):
            self.mean_ = sum(item.price for item in train) / len(train)
            return self

        def predict(self, item):
            seen["has_price"] = hasattr(item, "price")
            seen["is_item"] = isinstance(item, Item)
            seen["text"] = item.text
            return self.mean_

    train = [i.model_copy(update={"id": f"t{n}"}) for n, i in enumerate(items)]
    results = Tester(Learner(), items).run(fit_on=train)
    assert results.n_priced == 5
    assert seen == {"has_price": False, "is_item": True, "text": items[-1].text}


def test_a_hidden_price_raises_a_clear_error():
    item = Item(id="a", title="A", text="a thing", price=12.5, category="Toys")
    hidden = hide_price(item, "mine")
    assert (hidden.id, hidden.text, hidden.category) == ("a", "a thing", "Toys")
    with pytest.raises(PriceHidden, match="pricer 'mine' read item.price"):
        _ = hidden.price
    assert "price" not in hidden.model_dump()


def test_bulk_pricers_get_items_without_prices(course):
    class Bulk:
        name = "bulk-cheat"

        def predict(self, item):
            return item.price

        def predict_batch(self, items):
            return [item.price for item in items]

    results = Tester(Bulk(), course.test[:10]).run()
    assert results.header.status == "stopped" and results.n_priced == 0


class LeakyPrompt(PromptTemplate):
    """A template that writes the answer into the question."""

    def user_message(self, item, context=""):
        return f"{super().user_message(item, context)}\n(It sells for ${item.price:.2f}.)"


def test_a_prompt_template_that_shows_the_price_is_refused_before_any_call(items, tmp_path):
    api = MockAPI(default=openai_reply("Price is $10"))
    leaky = LeakyPrompt(system=COURSE_PROMPT.system, user=COURSE_PROMPT.user, prefill="Price is $")
    pricer = OpenAIPricer(
        "gpt-4o-mini", client=openai_client(api), cache=tmp_path / "c.sqlite", prompt=leaky
    )
    with pytest.raises(PricerError, match=r"prompt template \(LeakyPrompt\) puts the item's true"):
        Tester(pricer, items, out=tmp_path / "leaky").run()
    assert api.count == 0 and not (tmp_path / "leaky").exists()


# --- 3. a run knows its code, and its currency ---------------------------------------------------


def _guesser(value: float):
    if value < 10:

        def guess(item):
            return 5.0

    else:

        def guess(item):
            return 80.0

    return guess


def test_other_code_under_the_same_name_does_not_resume_an_old_run(items, tmp_path):
    first, second = _guesser(5), _guesser(80)
    assert first.__name__ == second.__name__ == "guess"
    done = Tester(first, items, out=tmp_path / "run").run()
    assert done.header.code.startswith("source ")
    with pytest.raises(ResultsError, match="made by other code"):
        Tester(second, items, out=tmp_path / "run").run()
    again = Tester(second, items, out=tmp_path / "run", resume="overwrite").run()
    assert {r.guess for r in again.records} == {80.0}


def test_builtin_pricers_record_the_package_version(items):
    from pricebench import __version__

    results = Tester(make_pricer("random"), items).run()
    assert results.n_failed == 0 and results.header.code == f"pricebench {__version__}"


def test_the_cli_refuses_a_changed_pricer_file(tmp_path, capsys):
    source = tmp_path / "mine.py"
    source.write_text(
        "class Mine:\n    name = 'mine'\n    def predict(self, item):\n        return 5.0\n"
    )
    args = ["run", f"{source}:Mine", "--data", str(COURSE_ITEMS), "--size", "5"]
    args += ["--out", str(tmp_path / "out")]
    assert main(args) == 0
    source.write_text(
        "class Mine:\n    name = 'mine'\n    def predict(self, item):\n        return 80.0\n"
    )
    assert main(args) == 2
    assert "made by other code" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert {r.guess for r in read_run(tmp_path / "out" / "mine.py_Mine").records} == {80.0}


def test_pounds_and_dollars_are_other_data(tmp_path, capsys):
    columns = {
        "text_columns": ["product_name"],
        "price_column": "price_gbp",
        "id_column": "uniq_id",
        "drop_unpriced": True,
        "price_range": (0.5, 999.49),
    }
    in_pounds = load_dataset(UK_TOYS, currency="GBP", **columns)
    as_dollars = load_dataset(UK_TOYS, **columns)
    assert fingerprint(in_pounds.test) == fingerprint(as_dollars.test)  # same ids and prices
    assert in_pounds.fingerprint != as_dollars.fingerprint
    pounds = Tester(make_pricer("constant"), in_pounds.test[:50], out=tmp_path / "r" / "gbp")
    dollars = Tester(make_pricer("constant"), as_dollars.test[:50], out=tmp_path / "r" / "usd")
    runs = [pounds.run(fit_on=in_pounds.train), dollars.run(fit_on=as_dollars.train)]
    board = leaderboard(runs)
    assert len(board) == 2 and {b.currency for b in board} == {"GBP", "USD"}
    assert main(["leaderboard", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "£" in out and "$" in out
    with pytest.raises(ResultsError, match="holds a run"):  # nor resumed in the other currency
        Tester(make_pricer("constant"), in_pounds.test[:50], out=tmp_path / "r" / "usd").run()


# --- 4. costs that survive the cache -------------------------------------------------------------


def test_a_cached_rerun_still_says_what_the_model_costs(items, tmp_path):
    api = MockAPI(default=openai_reply("Price is $20", prompt_tokens=1000, completion_tokens=5))

    def pricer():
        return OpenAIPricer("gpt-4o-mini", client=openai_client(api), cache=tmp_path / "c.sqlite")

    paid = Tester(pricer(), items, out=tmp_path / "first").run()
    cached = Tester(pricer(), items, out=tmp_path / "second").run()
    assert api.count == 5 and paid.cost > 0
    assert cached.cost == 0.0 and all(r.cached for r in cached.records)
    assert cached.list_cost == pytest.approx(paid.cost)
    assert all(r.list_cost == pytest.approx(r.cost) for r in paid.records)
    assert cached.cost_text() == f"USD {paid.cost:.6f} (5 cached)"
    assert "answered from the response cache" in cached.usage_text()
    assert "cost USD 0.000000" in cached.usage_text()  # what was paid stays honest
    row = next(r for r in leaderboard([cached])[0].rows)
    assert row.run.cost_text().startswith(f"USD {paid.cost:.6f}")


# --- 5. the smaller ones -------------------------------------------------------------------------


def test_tester_test_prices_every_item_unless_told(course, capsys):
    results = Tester.test(make_pricer("random"), course.test, progress=False)
    assert len(results.records) == len(course.test) == 500
    assert len(Tester.test(make_pricer("random"), course.test, size=7).records) == 7


def test_report_charts_of_runs_sharing_a_name_are_all_written(items, tmp_path, capsys):
    for folder, guess in (("a", 10.0), ("b", 300.0)):
        Tester(lambda item, g=guess: g, items, out=tmp_path / "runs" / folder).run()
    assert main(["report", str(tmp_path / "runs"), "--charts", str(tmp_path / "png")]) == 0
    charts = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert len([c for c in charts if "lambda" in c]) == 2, charts


def test_a_human_sheet_is_scored_on_its_own_items(tmp_path, capsys):
    sheet = tmp_path / "sheet.csv"
    data = ["--data", str(COURSE_ITEMS)]
    assert main(["play", *data, "--size", "5", "--export", str(sheet)]) == 0
    rows = list(csv.DictReader(sheet.open()))
    for row, guess in zip(rows, ["10", "20", "30", "40", ""], strict=True):
        row["guess"] = guess
    with sheet.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["run", f"human:{sheet}", *data, "--out", str(tmp_path / "out")]) == 0
    (run,) = find_runs([tmp_path / "out"])
    assert run.header.n_items == 5 and (run.n_priced, run.n_failed) == (4, 1)
    assert [r.id for r in run.records] == [row["id"] for row in rows]


def test_a_sheet_from_other_data_is_refused(tmp_path, capsys):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,title,text,guess\nnot-an-item,X,x,12\n")
    args = ["run", f"human:{sheet}", "--data", str(COURSE_ITEMS), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "not in the test split" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- 6. per-category figures and a cost picture --------------------------------------------------


def test_report_shows_mean_error_per_category(course, knn_run, tmp_path, capsys):
    per_category = category_scores(knn_run)
    counts = Counter(i.category for i in course.test if i.category)
    large = {c for c, n in counts.items() if n >= 10}
    small = [c for c, n in counts.items() if n < 10]
    other = f"other ({len(small)} categories of under 10 items)"
    assert set(per_category) == large | {other}  # one-item "intervals" say nothing: pooled
    assert {c: per_category[c].n for c in large} == {c: counts[c] for c in large}
    assert per_category[other].n == sum(counts[c] for c in small)
    electronics = [r.error for r in knn_run.records if r.category == "Electronics"]
    assert per_category["Electronics"].mean_error == pytest.approx(
        sum(electronics) / len(electronics)
    )
    interval = per_category["Electronics"].mean_error_ci
    assert interval.low < per_category["Electronics"].mean_error < interval.high
    assert main(["report", str(knn_run.path), "--charts", str(tmp_path / "png")]) == 0
    out = capsys.readouterr().out
    assert "mean error per category" in out and "Electronics" in out
    assert not (tmp_path / "png" / "cost.png").exists()  # every run at $0: nothing to draw


def test_the_cost_chart_puts_paid_and_local_runs_side_by_side(items, tmp_path, capsys):
    from pricebench.compare.report import html_report

    api = MockAPI(default=openai_reply("Price is $20", prompt_tokens=1000, completion_tokens=5))
    pricer = OpenAIPricer("gpt-4o-mini", client=openai_client(api), cache=tmp_path / "c.sqlite")
    fifty = [
        Tester(pricer, items, out=tmp_path / "runs" / "gpt").run(),
        Tester(make_pricer("constant"), items, out=tmp_path / "runs" / "constant").run(
            fit_on=[i.model_copy(update={"id": f"t{n}"}) for n, i in enumerate(items)]
        ),
    ]
    page = html_report(fifty, Path(tmp_path / "r.html"))
    assert 'alt="error against cost' in page
    assert main(["report", str(tmp_path / "runs"), "--charts", str(tmp_path / "png")]) == 0
    assert (tmp_path / "png" / "cost.png").stat().st_size > 10_000


# --- what a careful reviewer tried next ---------------------------------------------------------


def test_a_fallback_of_ones_own_choosing_does_not_rank_a_refuser_first(course, knn_run, tmp_path):
    first = course.test[0].id

    class Lazy:
        name = "lazy"

        def predict(self, item):
            if item.id != first:
                raise ValueError("not today")
            return 50.0

    median = sorted(i.price for i in course.train)[len(course.train) // 2]
    lazy = Tester(Lazy(), course.test, out=tmp_path / "lazy", fallback=median).run()
    constant = Tester(make_pricer("constant"), course.test).run(fit_on=course.train)
    assert lazy.header.fallback == median != constant.header.fallback
    with pytest.raises(ResultsError, match="no agreed fallback"):
        compare(lazy, constant)
    board = leaderboard([lazy, constant, knn_run])[0]
    row = next(r for r in board.rows if r.run.name == "lazy")
    assert row.rank is None and "records the fallback $" in row.note
    assert board.best.run.name == "knn"


def test_a_pricer_is_not_fitted_on_the_items_it_is_tested_on(course):
    with pytest.raises(PricerError, match=r"500 of the 500 items to price are among its"):
        Tester(make_pricer("knn"), course.test).run(fit_on=course.test)


def test_a_run_fitted_on_other_training_items_is_not_taken_as_done(course, tmp_path):
    out = tmp_path / "knn"
    Tester(make_pricer("knn"), course.test[:20], out=out).run(fit_on=course.train)
    with pytest.raises(ResultsError, match="fitted on other training items"):
        Tester(make_pricer("knn"), course.test[:20], out=out).run(fit_on=course.train[:30])
    assert read_run(out).header.trained_on == fingerprint(course.train)


def test_a_constant_beside_the_class_is_part_of_its_code(tmp_path, capsys):
    source = tmp_path / "k.py"
    body = "class Scaled:\n    name = 'scaled'\n    def predict(self, item):\n        return 60.0 * SCALE\n"
    source.write_text("SCALE = 1.0\n" + body)
    args = ["run", f"{source}:Scaled", "--data", str(COURSE_ITEMS), "--size", "5"]
    args += ["--out", str(tmp_path / "out")]
    assert main(args) == 0
    source.write_text("SCALE = 2.0\n" + body)
    assert main(args) == 2
    assert "made by other code" in capsys.readouterr().err


def test_partials_and_callable_objects_have_their_own_code_identity():
    from pricebench.pricer import as_pricer, code_identity

    def a(item, k):
        return 10.0 * k

    def b(item, k):
        return 100.0 * k

    identities = {
        code_identity(as_pricer(functools.partial(a, k=1))),
        code_identity(as_pricer(functools.partial(b, k=1))),
        code_identity(as_pricer(functools.partial(a, k=2))),
    }
    assert len(identities) == 3 and all(i.startswith("source ") for i in identities)
    empty = "source " + __import__("hashlib").sha256(b"").hexdigest()[:12]
    assert empty not in identities


def test_an_ensemble_of_ones_own_pricers_carries_their_code(tmp_path):
    from pricebench.pricer import code_identity

    (tmp_path / "k2.py").write_text(
        "class Mine:\n    name = 'mine'\n    def predict(self, item):\n        return 60.0\n"
    )
    ensemble = make_pricer(f"ensemble:{tmp_path / 'k2.py'}:Mine+constant")
    assert code_identity(ensemble).startswith("source ")
    assert code_identity(make_pricer("ensemble:knn+constant")).startswith("pricebench ")


def test_a_batch_method_that_reads_the_price_stops_the_run(course):
    class BatchCheat:
        name = "batch-cheat"

        def predict(self, item):
            return 1.0

        def predict_batch(self, items):
            return [item.price for item in items]

    results = Tester(BatchCheat(), course.test[:10]).run()
    assert results.header.status == "stopped" and results.n_priced == 0
    assert "read item.price" in results.header.note


def test_runs_with_other_hit_rules_are_not_ranked_together(items):
    from pricebench import Tolerance

    loose = Tester(lambda item: 1.0, items, tolerance=Tolerance(1000, 0.9)).run()
    strict = Tester(lambda item: 1.0, items).run()
    assert loose.hit_rate == 1.0 and strict.hit_rate < 1.0
    assert len(leaderboard([loose, strict])) == 2


def test_a_pricer_file_imports_a_module_beside_it(tmp_path):
    (tmp_path / "helper_for_pricebench_test.py").write_text("BASE = 42.0\n")
    (tmp_path / "slow.py").write_text(
        "from helper_for_pricebench_test import BASE\n\n"
        "class Slow:\n    name = 'slow'\n    def predict(self, item):\n        return BASE\n"
    )
    pricer = make_pricer(f"{tmp_path / 'slow.py'}:Slow")
    assert pricer.predict(Item(id="x", title="x", text="x", price=1.0)) == 42.0
