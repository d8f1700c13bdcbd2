"""The two baselines every leaderboard starts from: a random guess and a constant."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.pricer import BasePricer, check_fitted


class RandomPricer(BasePricer):
    """Guesses a whole-dollar price uniformly in [low, high], seeded, as the course's first pricer.

    The guess depends only on the seed and the item's id, so it does not change with the order
    items are priced in, the number of workers, or a resumed run.
    """

    def __init__(self, low: int = 1, high: int = 999, seed: int = 42) -> None:
        whole = all(isinstance(n, Integral) and not isinstance(n, bool) for n in (low, high))
        if not (whole and 0 <= low <= high):  # refused before any item is priced
            raise PricerError(
                f"random: low and high must be whole numbers, 0 <= low <= high, got low={low!r} "
                f"high={high!r}"
            )
        self.low = low
        self.high = high
        self.seed = seed
        self.name = "random"

    def predict(self, item: Item) -> float:
        return float(random.Random(f"{self.seed}:{item.id}").randint(self.low, self.high))


class ConstantPricer(BasePricer):
    """Always guesses one number learned from the training prices: their mean or median."""

    learns = True

    def __init__(self, statistic: str = "mean") -> None:
        if statistic not in ("mean", "median"):
            raise PricerError(f"constant: statistic must be 'mean' or 'median', not {statistic!r}")
        self.statistic = statistic
        self.name = "constant" if statistic == "mean" else "constant:median"

    def fit(self, train: Sequence[Item]) -> ConstantPricer:
        if not train:
            raise PricerError("constant: cannot fit on an empty training set")
        prices = [item.price for item in train]
        self.value_ = (
            statistics.fmean(prices) if self.statistic == "mean" else statistics.median(prices)
        )
        return self

    def predict(self, item: Item) -> float:
        check_fitted(self, "value_")
        return self.value_

    def save(self, path: str | Path) -> Path:
        """Write the fitted pricer to `path`, as local pricers do (`pricebench.local`)."""
        from pricebench.local.persistence import save_pricer

        check_fitted(self, "value_")
        return save_pricer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ConstantPricer:
        """A pricer saved with `save`."""
        from pricebench.local.persistence import load_pricer

        return load_pricer(path, expected=cls)
