"""The tuning loop, offline, on real course items: validation chooses, test only reports."""

from __future__ import annotations

import json
import statistics

import pytest

from pricebench import Dataset, Estimate, Item, load_dataset, tune
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.cli import main
from pricebench.errors import PricebenchError, ResultsError
from pricebench.tune import Uniform, grid, sample
from tests.conftest import COURSE_ITEMS


@pytest.fixture(scope="module")
def course() -> Dataset:
    full = load_dataset(COURSE_ITEMS)
    return Dataset(full.train[:300], full.test[:60], source=str(COURSE_ITEMS))


class Spy:
    """A constant pricer that remembers every item it was fitted on or asked about."""

    def __init__(self, log: list[str], offset: float = 0.0, cost: float = 0.0) -> None:
        self.offset = offset
        self.cost = cost
        self.log = log
        self.name = "spy"

    def get_params(self) -> dict:
        return {"offset": self.offset}

    def fit(self, train: list[Item]) -> Spy:
        self.log.extend(f"fit:{item.id}" for item in train)
        self.value_ = statistics.median(item.price for item in train) + self.offset
        return self

    def estimate(self, item: Item) -> Estimate:
        self.log.append(f"price:{item.id}")
        tokens = 10 if self.cost else 0
        return Estimate(self.value_, input_tokens=tokens, cost=self.cost)

    def predict(self, item: Item) -> float:
        return self.estimate(item).price


def validation_error(data: Dataset, statistic: str) -> float:
    split = data.with_validation(0.1, 42)
    prices = [i.price for i in split.train]
    guess = statistics.fmean(prices) if statistic == "mean" else statistics.median(prices)
    return statistics.fmean(abs(guess - i.price) for i in split.validation)


def test_grid_on_a_builtin_pricer_picks_the_best_validation_score(course, tmp_path):
    result = tune(
        "constant", course, grid={"statistic": ["mean", "median"]}, out=tmp_path, verbose=False
    )
    by_params = {t.params["statistic"]: t for t in result.trials}
    for statistic in ("mean", "median"):
        expected = validation_error(course, statistic)
        assert by_params[statistic].mean_error == pytest.approx(expected)
        assert by_params[statistic].n_priced == 30  # 10% of 300 training items
    best = min(("mean", "median"), key=lambda s: validation_error(course, s))
    assert result.best_params == {"statistic": best}
    assert result.test is not None and result.test.header.n_items == 60
    assert result.test.header.params == {"statistic": best}
    saved = json.loads((tmp_path / "best.json").read_text())
    assert saved["params"] == {"statistic": best}
    assert saved["test"]["mean_error"] == pytest.approx(result.test.mean_error)
    assert len((tmp_path / "trials.jsonl").read_text().splitlines()) == 2


def test_test_items_are_never_seen_while_choosing(course):
    log: list[str] = []
    result = tune(
        lambda offset: Spy(log, offset),
        course,
        grid={"offset": [0.0, 25.0, -10.0]},
        test=False,
        verbose=False,
    )
    test_ids = {item.id for item in course.test}
    seen = {entry.split(":", 1)[1] for entry in log}
    assert not seen & test_ids
    validation_ids = {e.split(":", 1)[1] for e in log if e.startswith("price:")}
    fitted_ids = {e.split(":", 1)[1] for e in log if e.startswith("fit:")}
    assert len(validation_ids) == 30 and not validation_ids & fitted_ids
    assert result.test is None and len(result.trials) == 3

    log.clear()
    result = tune(lambda offset: Spy(log, offset), course, grid={"offset": [0.0]}, verbose=False)
    priced = {e.split(":", 1)[1] for e in log if e.startswith("price:")}
    assert test_ids <= priced  # the one final run
    # With refit, the winner is fitted on train and validation together (all 300 items).
    assert len({e for e in log if e.startswith("fit:")}) == 300


def test_a_rerun_skips_finished_trials_and_an_interrupted_search_continues(course, tmp_path):
    built: list[float] = []
    interrupted: list[bool] = []

    def factory(offset: float) -> Spy:
        built.append(offset)
        if offset == 3.0 and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt  # the user stops the search during the third trial
        return Spy([], offset)

    space = {"offset": [1.0, 2.0, 3.0, 4.0]}
    with pytest.raises(KeyboardInterrupt):
        tune(factory, course, grid=space, out=tmp_path, verbose=False)
    assert len((tmp_path / "trials.jsonl").read_text().splitlines()) == 2
    built.clear()
    result = tune(factory, course, grid=space, out=tmp_path, test=False, verbose=False)
    assert built == [3.0, 4.0]
    assert [t.params["offset"] for t in result.trials] == [1.0, 2.0, 3.0, 4.0]
    built.clear()
    tune(factory, course, grid=space, out=tmp_path, test=False, verbose=False)
    assert built == []


def test_object_parameters_reach_the_final_run_after_a_rerun(course, tmp_path):
    built: list[object] = []

    def factory(prompt: PromptTemplate) -> Spy:
        built.append(prompt)
        return Spy([], offset=0.0 if prompt is COURSE_PROMPT else 50.0)

    other = PromptTemplate(system="Price it.", user="{title}")
    space = {"prompt": [COURSE_PROMPT, other]}
    tune(factory, course, grid=space, out=tmp_path, test=False, verbose=False)
    built.clear()
    result = tune(factory, course, grid=space, out=tmp_path, verbose=False)
    assert built == [COURSE_PROMPT]  # the winner, rebuilt from the object, for the test run
    assert result.best_params["prompt"] == repr(COURSE_PROMPT)


def test_trial_budget_stops_the_search(course):
    result = tune(
        "constant",
        course,
        grid={"statistic": ["mean", "median"]},
        max_trials=1,
        test=False,
        verbose=False,
    )
    assert len(result.trials) == 1 and result.stopped == "trial budget (1) reached"


def test_dollar_budget_stops_mid_trial_and_a_bigger_budget_resumes(course, tmp_path):
    logs: dict[float, list[str]] = {0.0: [], 5.0: []}

    def factory(offset: float) -> Spy:
        return Spy(logs[offset], offset, cost=0.01)

    space = {"offset": [0.0, 5.0]}
    result = tune(factory, course, grid=space, out=tmp_path, max_cost=0.155, verbose=False)
    assert result.stopped is not None and "cost budget" in result.stopped
    assert result.best is None and result.test is None
    [stopped] = result.trials
    assert stopped.status == "stopped" and stopped.n_priced == 16  # stops once $0.155 is passed
    assert not (tmp_path / "trials.jsonl").exists()  # a stopped trial is not done
    logs[0.0].clear()
    result = tune(factory, course, grid=space, out=tmp_path, max_cost=0.5, verbose=False)
    first, second = result.trials
    assert first.status == "complete" and first.n_priced == 30
    assert first.cost == pytest.approx(0.30)
    # The stopped trial resumed: only the 14 items not priced before were priced (and paid).
    assert sum(e.startswith("price:") for e in logs[0.0]) == 14 + len(course.test)
    # The earlier $0.16 counts: $0.30 for the first trial, then $0.20 of the second reach $0.50.
    assert second.status == "stopped" and second.n_priced == 20
    assert result.best is first and result.test is not None


def test_call_budget_counts_paid_calls(course):
    result = tune(
        lambda offset: Spy([], offset, cost=0.001),
        course,
        grid={"offset": [0.0, 1.0, 2.0]},
        max_calls=45,
        test=False,
        verbose=False,
    )
    assert [t.status for t in result.trials] == ["complete", "stopped"]
    assert result.trials[0].calls == 30 and result.best is not None


def test_a_rejected_configuration_is_a_failed_trial(course):
    result = tune(
        "constant", course, grid={"statistic": ["mode", "median"]}, test=False, verbose=False
    )
    failed, ok = result.trials
    assert failed.status == "failed" and "statistic must be" in failed.error
    assert result.best is ok


def test_tuning_directory_refuses_other_data(course, tmp_path):
    tune("constant", course, grid={"statistic": ["mean"]}, out=tmp_path, verbose=False)
    other = Dataset(course.train[:200], course.test)
    with pytest.raises(ResultsError, match="choose another output directory"):
        tune("constant", other, grid={"statistic": ["mean"]}, out=tmp_path, verbose=False)


def test_search_spaces_are_seeded_and_complete():
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    space = {"alpha": Uniform(0.01, 100, log=True), "k": Uniform(1, 20, integer=True), "c": [1, 2]}
    draws = sample(space, 50, seed=3)
    assert draws == sample(space, 50, seed=3) and draws != sample(space, 50, seed=4)
    assert all(0.01 <= d["alpha"] <= 100 and isinstance(d["k"], int) for d in draws)
    assert {d["c"] for d in draws} == {1, 2}
    with pytest.raises(PricebenchError, match="nothing to search"):
        tune("constant", Dataset([], []))


def test_a_local_sklearn_pricer_tunes_offline(course):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    class RidgePricer:
        def __init__(self, alpha: float = 1.0) -> None:
            self.alpha = alpha
            self.name = "tfidf-ridge"

        def get_params(self) -> dict:
            return {"alpha": self.alpha}

        def fit(self, train):
            self.model_ = make_pipeline(TfidfVectorizer(max_features=2000), Ridge(self.alpha))
            self.model_.fit([i.text for i in train], [i.price for i in train])
            return self

        def predict_batch(self, items):
            # Ridge can go below zero, and a negative guess is a failure, not a price.
            return [max(0.0, float(p)) for p in self.model_.predict([i.text for i in items])]

        def predict(self, item):
            return self.predict_batch([item])[0]

    result = tune(
        RidgePricer,
        course,
        space={"alpha": Uniform(0.01, 1000, log=True)},
        n_random=3,
        verbose=False,
    )
    assert len(result.trials) == 3 and all(t.status == "complete" for t in result.trials)
    errors = sorted(t.mean_error for t in result.trials)
    assert result.best.mean_error == errors[0]
    assert result.test is not None and result.test.n_priced == 60


def test_a_registered_local_pricer_tunes_end_to_end(course, tmp_path):
    result = tune(
        "knn", course, grid={"n_neighbors": [1, 10], "power": [2.0]}, out=tmp_path, verbose=False
    )
    assert [t.status for t in result.trials] == ["complete", "complete"]
    assert result.best == min(result.trials, key=lambda t: t.mean_error)
    assert result.test.header.params["n_neighbors"] == result.best_params["n_neighbors"]
    assert result.test.n_priced == 60 and result.test.header.dataset.endswith("#test")


def test_an_api_pricer_tunes_with_paid_calls_counted_and_cached_answers_free(course, tmp_path):
    from pricebench.chat.openai import OpenAIPricer
    from tests.mock_api import MockAPI, openai_client, openai_reply

    def answer(request):
        body = json.loads(request.content)
        # A model that guesses better when cooler: $40 at temperature 0, $400 when hot.
        price = 40 if body["temperature"] == 0 else 400
        return openai_reply(f"Price is ${price}", prompt_tokens=100, completion_tokens=3)

    api = MockAPI(default=answer)
    client = openai_client(api)

    def factory(temperature: float) -> OpenAIPricer:
        return OpenAIPricer(
            "gpt-4o-mini", client=client, temperature=temperature, cache=tmp_path / "cache.db"
        )

    space = {"temperature": [0.0, 1.0]}
    result = tune(factory, course, grid=space, size=10, test_size=5, max_calls=100, verbose=False)
    assert result.best_params == {"temperature": 0.0}
    assert [t.calls for t in result.trials] == [10, 10]
    assert all(t.cost > 0 for t in result.trials)
    assert api.count == 25  # 2 trials x 10 validation items, then 5 test items
    again = tune(factory, course, grid=space, size=10, test=False, verbose=False)
    assert [t.calls for t in again.trials] == [0, 0] and api.count == 25  # all from the cache
    stopped = tune(
        lambda temperature: OpenAIPricer(
            "gpt-4o-mini", client=client, temperature=temperature, cache=False
        ),
        course,
        grid=space,
        size=10,
        max_calls=15,
        verbose=False,
    )
    assert [t.status for t in stopped.trials] == ["complete", "stopped"]
    assert stopped.trials[1].n_priced == 5 and stopped.stopped == "call budget (15) reached"


def test_cli_tune_runs_a_grid_and_reports(tmp_path, capsys):
    out = tmp_path / "tuning"
    args = ["tune", "constant", "--grid", "statistic=mean,median", "--data", str(COURSE_ITEMS)]
    assert main([*args, "--size", "50", "--test-size", "40", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "best of 2 trials" in printed and "test: constant" in printed
    best = json.loads((out / "best.json").read_text())
    assert best["test"]["n_items"] == 40
    assert main(["tune", "constant", "--grid", "statistic", "--data", str(COURSE_ITEMS)]) == 2


def test_cli_tune_random_space_parsing(tmp_path, capsys):
    args = ["tune", "constant", "--random", "statistic=mean,median", "--n-random", "3"]
    out = str(tmp_path / "t")
    code = main([*args, "--data", str(COURSE_ITEMS), "--size", "20", "--no-test", "--out", out])
    assert code == 0
    assert main(["tune", "constant", "--random", "x=uniform:a:b", "--n-random", "1"]) == 2


def test_unknown_metric_is_refused(course):
    with pytest.raises(PricebenchError, match="metric must be one of"):
        tune("constant", course, grid={"statistic": ["mean"]}, metric="accuracy")
