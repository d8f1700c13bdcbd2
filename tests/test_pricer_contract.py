"""The pricer contract: `BasePricer`, the `learns` flag, `check_fitted` and `clone_pricer`."""

from __future__ import annotations

import pytest

from pricebench import ConstantPricer, Item, RandomPricer, Tester
from pricebench.chat.openai import OpenAIPricer
from pricebench.errors import PricerError
from pricebench.local.ensemble import Ensemble
from pricebench.pricer import BasePricer, as_pricer, check_fitted, clone_pricer, learns
from tests.mock_api import MockAPI, openai_client, openai_reply

ITEMS = [Item(id=f"c{n}", title=f"Cup {n}", text=f"Cup {n}", price=10.0 + n) for n in range(20)]


class Scaled(BasePricer):
    learns = True

    def __init__(self, factor: float = 1.0, name: str = "scaled") -> None:
        self.factor = factor
        self.name = name

    def fit(self, train):
        self.mean_ = sum(i.price for i in train) / len(train)
        return self

    def predict(self, item):
        check_fitted(self, "mean_")
        return self.mean_ * self.factor


def test_get_params_comes_from_the_constructor_and_clone_is_unfitted():
    pricer = Scaled(factor=2.0).fit(ITEMS)
    assert pricer.get_params() == {"factor": 2.0, "name": "scaled"}
    copy = clone_pricer(pricer)
    assert copy.get_params() == pricer.get_params() and not hasattr(copy, "mean_")
    with pytest.raises(PricerError, match="scaled: call fit"):
        copy.predict(ITEMS[0])


def test_learns_is_declared_not_probed(tmp_path):
    chat = OpenAIPricer("gpt-4o-mini", client=openai_client(MockAPI()), cache=False)
    assert hasattr(chat, "fit") and not learns(chat)  # its fit only indexes a context
    with_context = OpenAIPricer(
        "gpt-4o-mini", client=openai_client(MockAPI()), cache=False, context="tfidf:3"
    )
    assert learns(with_context)
    assert learns(ConstantPricer()) and not learns(RandomPricer())
    assert not learns(as_pricer(lambda item: 1.0))

    class DuckTyped:  # a pricer of one's own that declares nothing: having fit means learning
        name = "duck"

        def fit(self, train):
            return self

        def predict(self, item):
            return 1.0

    assert learns(DuckTyped())


def test_an_ensemble_reuses_a_saved_chat_run_without_new_calls(tmp_path):
    api = MockAPI(default=openai_reply("Price is $12.00"))

    def chat():
        return OpenAIPricer("gpt-4o-mini", client=openai_client(api), cache=False)

    Tester(chat(), ITEMS, out=tmp_path / "chat").run()
    assert api.count == 20
    ensemble = Ensemble([chat(), ConstantPricer()], method="mean", saved=[tmp_path / "chat"]).fit(
        ITEMS
    )
    results = Tester(ensemble, ITEMS).run()
    assert results.n_priced == 20
    assert api.count == 20  # every chat price came from the saved run: zero new paid calls
