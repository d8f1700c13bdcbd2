"""`LocalPricer`: what every trainable local pricer shares (fit, predict, save, load).

A local pricer is a scikit-learn estimator: its parameters are stored as given in `__init__`,
`fit` sets the learned state (attributes ending in `_`) and returns self, and `get_params` /
`clone` work. Subclasses only say which scikit-learn model maps item texts to the target.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.local.persistence import load_pricer, save_pricer
from pricebench.pricer import check_fitted

# The smallest price a local pricer answers: a linear model on raw prices can go negative.
PRICE_FLOOR = 0.5


def texts_of(items: Sequence[Item]) -> list[str]:
    """What local pricers read of an item: its text (which starts with its title)."""
    return [item.text for item in items]


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS and OpenMP on one thread while a local pricer fits.

    Their problems here are small (thousands of items, hundreds of dimensions): extra threads
    cost more than they save, and on a busy machine they spin. On the shared 2-core machine
    `gbm` took 65.9 CPU-s to fit with the default threads and 2.4 with one, `nn` 25.7 and 3.5
    (`python benchmarks/main_job.py`, docs/benchmarks.md). Random forests' own `n_jobs`
    (joblib threads) are not affected. Predicting is left alone: it is quick, and finding the
    thread pools costs milliseconds a call.
    """
    with threadpool_limits(limits=1):
        yield


def check_train(train: Sequence[Item], spec: str) -> list[Item]:
    """The training items as a list, or PricerError when there are too few to learn from."""
    items = list(train)
    if len(items) < 2:
        what = "an empty" if not items else "a one-item"
        raise PricerError(f"{spec}: cannot fit on {what} training set (need at least 2 items)")
    return items


class LocalPricer(BaseEstimator):
    """Base class: subclasses set `spec` and implement `_model()`.

    `log_target` (a parameter of every subclass) fits the model on log(1 + price), which suits
    prices spread over three orders of magnitude; the course's baselines fit raw prices.
    """

    spec: ClassVar[str] = "local"
    learns: ClassVar[bool] = True
    resumable_params: ClassVar[frozenset[str]] = frozenset({"n_jobs"})  # speed, not answers
    log_target: bool

    @property
    def name(self) -> str:
        return self.spec

    def _model(self) -> Any:
        """A fresh, unfitted scikit-learn estimator from a list of texts to the target."""
        raise NotImplementedError

    def fit(self, train: Sequence[Item]) -> LocalPricer:
        items = check_train(train, self.spec)
        with one_thread():
            self._fit(items)
        self.n_train_ = len(items)
        return self

    def _fit(self, items: list[Item]) -> None:
        """Learn from `items` (at least two); subclasses with their own way override this."""
        self.model_ = self._model().fit(texts_of(items), self._target(items))

    def predict(self, item: Item) -> float:
        return self.predict_batch([item])[0]

    def predict_batch(self, items: Sequence[Item]) -> list[float]:
        return self._to_prices(self._raw_predict(items)).tolist()

    def _raw_predict(self, items: Sequence[Item]) -> np.ndarray:
        """The model's answers on the target scale (log or raw), before clipping."""
        self._check_fitted()
        if not items:
            return np.zeros(0)
        return np.asarray(self.model_.predict(texts_of(items)), dtype=float)

    def _target(self, items: Sequence[Item]) -> np.ndarray:
        prices = np.array([item.price for item in items], dtype=float)
        return np.log1p(prices) if self.log_target else prices

    def _to_prices(self, raw: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(raw)):
            raise PricerError(f"{self.spec}: the model produced a non-finite prediction")
        # Clip on the target scale first so that expm1 cannot overflow.
        prices = np.expm1(np.clip(raw, 0.0, 16.0)) if self.log_target else raw
        return np.maximum(prices, PRICE_FLOOR)

    def _check_fitted(self) -> None:
        check_fitted(self, "model_")

    def save(self, path: str | Path) -> Path:
        """Write the fitted pricer to `path` (see `pricebench.local.persistence`)."""
        self._check_fitted()
        return save_pricer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> LocalPricer:
        """A pricer saved with `save`; PricerError for another file or pricebench version."""
        return load_pricer(path, expected=cls)
