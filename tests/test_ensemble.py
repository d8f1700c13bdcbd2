"""The Ensemble: stacking never worse than its best member, fixed combinations, reused prices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pricebench import ConstantPricer, Estimate, Item, RandomPricer, Tester, load_dataset
from pricebench.errors import PricerError
from pricebench.local.ensemble import Ensemble, _stack_weights
from pricebench.registry import make_pricer

from .conftest import COURSE_ITEMS


class WordsPricer:
    """A small learning pricer: a linear fit of log price on the text's length and digits."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.name = "words"

    def get_params(self) -> dict[str, float]:
        return {"scale": self.scale}

    @staticmethod
    def _features(item: Item) -> list[float]:
        return [1.0, np.log1p(len(item.text)), sum(c.isdigit() for c in item.text) / 100]

    def fit(self, train):
        x = np.array([self._features(item) for item in train])
        y = np.log1p([item.price for item in train])
        self.coef_ = np.linalg.lstsq(x, y, rcond=None)[0]
        self.fitted_on_ = len(train)
        return self

    def predict(self, item: Item) -> float:
        return float(self.scale * np.expm1(np.dot(self._features(item), self.coef_)))


class Counting:
    """A non-learning pricer that counts its calls and charges for them, like a paid API."""

    def __init__(self, name: str = "paid", factor: float = 0.8) -> None:
        self.name = name
        self.factor = factor
        self.calls = 0

    def estimate(self, item: Item) -> Estimate:
        self.calls += 1
        # From the text, never the price: pricers do not see it at test time.
        return Estimate(price=self.factor * len(item.text) + 5, cost=0.01)

    def predict(self, item: Item) -> float:
        return self.estimate(item).price


@pytest.fixture(scope="module")
def data():
    return load_dataset(COURSE_ITEMS).with_validation(0.2, seed=7)


def _mean_error(pricer, items) -> float:
    return float(np.mean([abs(pricer.predict(item) - item.price) for item in items]))


@pytest.mark.parametrize("loss", ["absolute", "squared"])
def test_stack_is_never_worse_on_validation_than_its_best_member(data, loss):
    members = [ConstantPricer(), ConstantPricer("median"), RandomPricer(), WordsPricer()]
    ensemble = Ensemble(members, loss=loss).fit(data.train, validation=data.validation)
    member_errors = [_mean_error(m, data.validation) for m in members]
    ensemble_error = _mean_error(ensemble, data.validation)
    assert ensemble_error <= min(member_errors) + 1e-6
    assert ensemble.stack_items_ == len(data.validation)
    assert ensemble.stack_mean_error_ == pytest.approx(ensemble_error)
    assert (ensemble.weights_ >= 0).all()
    assert all(m.fitted_on_ == len(data.train) for m in members if hasattr(m, "fitted_on_"))


def test_out_of_fold_stack_beats_its_members_on_the_folds_and_refits_on_all_train(data):
    words = WordsPricer()
    ensemble = Ensemble([ConstantPricer(), words, RandomPricer()], folds=4).fit(data.train)
    assert ensemble.stack_mean_error_ <= ensemble.member_mean_errors_.min() + 1e-6
    assert ensemble.stack_items_ == len(data.train)
    # Fold copies learned without their fold; the member itself then learned from all of train.
    assert words.fitted_on_ == len(data.train)
    assert ensemble.weights_[2] < 0.02  # the random guess earns (almost) no weight
    results = Tester(ensemble, data.test).run()
    assert results.n_failed == 0 and results.n_priced == len(data.test)


def test_stack_recovers_a_known_blend():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(10, 500, 300), rng.uniform(10, 500, 300)
    truth = 0.3 * a + 0.7 * b
    for loss in ("absolute", "squared"):
        weights = _stack_weights(np.column_stack([a, b]), truth, loss)
        assert weights == pytest.approx([0.3, 0.7], abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    arrays(float, (25, 3), elements=st.floats(0, 1000, allow_nan=False)),
    arrays(float, 25, elements=st.floats(0.5, 1000, allow_nan=False)),
    st.sampled_from(["absolute", "squared"]),
)
def test_stack_weights_never_lose_to_a_single_member(predictions, truth, loss):
    weights = _stack_weights(predictions, truth, loss)
    blended = np.abs(predictions @ weights - truth).mean()
    best = np.abs(predictions - truth[:, None]).mean(axis=0).min()
    assert (weights >= 0).all()
    assert blended <= best + 1e-6 * max(1.0, best)


def _fixed(price: float, name: str):
    def pricer(item: Item) -> float:
        return price

    pricer.__name__ = name
    return pricer


@pytest.mark.parametrize(
    ("method", "weights", "expected"),
    [("mean", None, 40.0), ("median", None, 30.0), ("weights", [0.5, 0.25, 0.0], 12.5)],
)
def test_fixed_combinations(items, method, weights, expected):
    members = [_fixed(10.0, "ten"), _fixed(30.0, "thirty"), _fixed(80.0, "eighty")]
    ensemble = Ensemble(members, method, weights).fit(items)
    assert ensemble.predict(items[0]) == pytest.approx(expected)
    # Functions have no bulk method, so the Tester asks the ensemble item by item.
    assert not hasattr(ensemble, "predict_batch")


def test_predict_batch_only_when_every_member_prices_in_bulk(items):
    class Bulk(ConstantPricer):
        def predict_batch(self, batch):
            return [self.predict(item) for item in batch]

    bulk = Ensemble([Bulk(), Bulk("median")], "mean").fit(items)
    assert bulk.predict_batch(items) == pytest.approx([bulk.predict(i) for i in items])
    mixed = Ensemble([Bulk(), ConstantPricer()], "mean").fit(items)
    assert not hasattr(mixed, "predict_batch")


def test_saved_prices_of_paid_members_are_reused_not_paid_again(data, tmp_path):
    paid = Counting()
    test = data.test[:60]
    Tester(paid, test, out=tmp_path / "paid").run()
    assert paid.calls == 60
    paid.calls = 0
    ensemble = Ensemble([paid, ConstantPricer()], "mean", saved=[tmp_path / "paid"]).fit(data.train)
    results = Tester(ensemble, test).run()
    assert paid.calls == 0
    assert results.cost == 0.0
    assert all(not r.cached for r in results.records)  # the constant was still asked
    mean = ensemble._pricers[1].value_
    expected = [(0.8 * len(item.text) + 5 + mean) / 2 for item in test]
    assert [r.guess for r in results.records] == pytest.approx(expected)
    # Items the saved run did not price are asked for, and their cost is recorded.
    results = Tester(ensemble, data.test[60:70]).run()
    assert paid.calls == 10 and results.cost == pytest.approx(0.10)


def test_a_failing_member_fails_the_item_instead_of_guessing(data):
    def flaky(item: Item) -> float:
        if "a" in item.id:
            raise RuntimeError("no answer")
        return 50.0

    ensemble = Ensemble([flaky, ConstantPricer()], "mean").fit(data.train)
    results = Tester(ensemble, data.test[:50]).run()
    failed = [r for r in results.records if r.failed]
    assert failed and all("no answer" in r.failure for r in failed)
    assert {r.id for r in failed} == {item.id for item in data.test[:50] if "a" in item.id}


def test_stack_skips_validation_items_a_member_failed_on(data):
    def flaky(item: Item) -> float:
        if item.id.startswith("0"):
            raise RuntimeError("no answer")
        return 50.0

    validation = data.validation[:100]
    ensemble = Ensemble([flaky, ConstantPricer()]).fit(data.train, validation=validation)
    skipped = sum(item.id.startswith("0") for item in validation)
    assert ensemble.stack_items_ == len(validation) - skipped


def test_spec_builds_an_ensemble_of_registered_pricers(data):
    ensemble = make_pricer("ensemble:constant+constant:median")
    assert ensemble.name == "ensemble:constant+constant:median"
    ensemble.fit(data.train)
    assert ensemble.get_params()["members"] == ["constant", "constant:median"]
    median = make_pricer("ensemble:constant+random", method="median")
    assert median.method == "median" and median.name == "ensemble(median):constant+random"
    with pytest.raises(PricerError, match="name its members"):
        make_pricer("ensemble")


def test_bad_configurations_are_clear_errors():
    with pytest.raises(PricerError, match="method"):
        Ensemble([ConstantPricer()], "vote")
    with pytest.raises(PricerError, match="one weight per member"):
        Ensemble([ConstantPricer(), RandomPricer()], "weights", [1.0])
    with pytest.raises(PricerError, match="negative"):
        Ensemble([ConstantPricer(), RandomPricer()], "weights", [1.0, -1.0])
    with pytest.raises(PricerError, match="only used with"):
        Ensemble([ConstantPricer()], "mean", [1.0])
    with pytest.raises(PricerError, match="fit"):
        Ensemble([RandomPricer()]).predict(Item(id="x", title="x", text="x", price=1.0))


def test_spec_reuses_a_saved_results_directory(data, tmp_path, monkeypatch):
    from pricebench import registry

    paid = Counting()
    monkeypatch.setitem(registry._registered, "paid", lambda: paid)
    Tester(paid, data.test[:20], out=tmp_path / "results" / "paid").run()
    paid.calls = 0
    ensemble = make_pricer("ensemble:paid+constant", method="mean", saved=str(tmp_path / "results"))
    ensemble.fit(data.train)
    Tester(ensemble, data.test[:20]).run()
    assert paid.calls == 0


def test_a_bulk_member_that_fails_one_item_is_not_asked_again_item_by_item(data):
    class Bulk(ConstantPricer):
        """Prices in bulk with NaN for the items it has no price for, as `HFPricer` does."""

        asked = 0

        def predict(self, item: Item) -> float:
            Bulk.asked += 1
            return super().predict(item)

        def predict_batch(self, batch):
            return [float("nan") if i.id.startswith("0") else 50.0 for i in batch]

    validation = data.validation[:100]
    ensemble = Ensemble([Bulk(), ConstantPricer()]).fit(data.train, validation=validation)
    skipped = sum(item.id.startswith("0") for item in validation)
    assert skipped > 0 and ensemble.stack_items_ == len(validation) - skipped
    assert Bulk.asked == 0  # the batch's other prices were kept, not asked for one by one
