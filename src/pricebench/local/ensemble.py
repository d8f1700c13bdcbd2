"""`Ensemble`: one price from several pricers, as in the course's week 8 (its best result).

Methods:
- `stack` (default): non-negative weights fitted on predictions the members made on items they did
  not learn from: out-of-fold predictions over a K-fold split of train for members that learn,
  plain predictions for members that do not, or predictions on `fit(train, validation=...)` items.
  With `loss="absolute"` the weights minimise the mean absolute error itself (a small linear
  programme); with `loss="squared"` they are non-negative least squares. A single member is one of
  the candidates, so on the stacking items the stack is never worse than its best member.
- `mean`, `median`: of the members' prices, nothing learned.
- `weights`: fixed weights given by the caller.

Paid members should not be paid twice: pass their saved runs as `saved` (run directories or
`Results`) and the prices they already gave for an item are reused instead of asking again. Only
members that do not learn (`learns(pricer)` is False: chat pricers without a retrieval context
among them, although they have a `fit`) are looked up, since a saved price of a learning member
depends on what it was trained on, which a run does not record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, nnls

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.local.stacking import out_of_fold
from pricebench.pricer import (
    Estimate,
    Pricer,
    as_pricer,
    check_fitted,
    clone_pricer,
    estimate_one,
    learns,
    pricer_params,
    to_estimate,
)
from pricebench.results import Results

Method = Literal["stack", "mean", "median", "weights"]
METHODS = ("stack", "mean", "median", "weights")


class Ensemble:
    """Combines the prices of `members` (pricers, functions or spec strings such as "constant")."""

    learns = True

    def __init__(
        self,
        members: Sequence[Pricer | Callable[[Item], Any] | str],
        method: Method = "stack",
        weights: Sequence[float] | None = None,
        *,
        loss: Literal["absolute", "squared"] = "absolute",
        folds: int = 5,
        seed: int = 42,
        saved: Sequence[Results | str | Path] = (),
        name: str | None = None,
    ) -> None:
        self.members = members
        self.method = method
        self.weights = weights
        self.loss = loss
        self.folds = folds
        self.seed = seed
        self.saved = saved
        if method not in METHODS:
            raise PricerError(f"ensemble: method must be one of {METHODS}, not {method!r}")
        if loss not in ("absolute", "squared"):
            raise PricerError(f"ensemble: loss must be 'absolute' or 'squared', not {loss!r}")
        if len(members) < 1:
            raise PricerError("ensemble: give at least one member")
        if method == "weights":
            if weights is None or len(weights) != len(members):
                raise PricerError(
                    f"ensemble: method 'weights' needs one weight per member ({len(members)})"
                )
            if any(w < 0 for w in weights):
                raise PricerError("ensemble: weights must not be negative")
        elif weights is not None:
            raise PricerError("ensemble: weights are only used with method='weights'")
        if folds < 2:
            raise PricerError(f"ensemble: folds must be at least 2, got {folds}")
        self._pricers = [_member(m) for m in members]
        label = "ensemble" if method == "stack" else f"ensemble({method})"
        self.name = name or f"{label}:" + "+".join(p.name for p in self._pricers)
        self._saved_prices: dict[tuple[str, str], float] | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            "members": [p.name for p in self._pricers],
            "member_params": {p.name: pricer_params(p) for p in self._pricers},
            "method": self.method,
            "weights": list(self.weights) if self.weights is not None else None,
            "loss": self.loss,
            "folds": self.folds,
            "seed": self.seed,
        }

    def fit(self, train: Sequence[Item], validation: Sequence[Item] | None = None) -> Ensemble:
        """Fit the learning members on `train` and, for `stack`, the weights.

        The weights are fitted on `validation` items when given (every member priced them without
        having learned from them), else on out-of-fold predictions over `train`.
        """
        if not train:
            raise PricerError("ensemble: cannot fit on an empty training set")
        if self.method == "stack":
            if validation:
                for pricer in self._pricers:
                    if learns(pricer):
                        pricer.fit(train)
                stack_items = list(validation)
                predictions = self._predict_matrix(stack_items, strict=False)
            else:
                stack_items = list(train)
                predictions = self._out_of_fold(stack_items)
                for pricer in self._pricers:
                    if learns(pricer):
                        pricer.fit(train)
            truth = np.array([item.price for item in stack_items])
            usable = np.isfinite(predictions).all(axis=1)
            if not usable.any():
                raise PricerError("ensemble: no stacking item was priced by every member")
            self.weights_ = _stack_weights(predictions[usable], truth[usable], self.loss)
            self.stack_items_ = int(usable.sum())
            self.stack_mean_error_ = float(
                np.abs(predictions[usable] @ self.weights_ - truth[usable]).mean()
            )
            self.member_mean_errors_ = np.abs(predictions[usable] - truth[usable, None]).mean(0)
        else:
            for pricer in self._pricers:
                if learns(pricer):
                    pricer.fit(train)
            if self.method == "weights":
                self.weights_ = np.asarray(self.weights, dtype=float)
        return self

    def predict(self, item: Item) -> float:
        return self.estimate(item).price

    def estimate(self, item: Item) -> Estimate:
        """The combined price; its cost is what the members charged for this item now."""
        prices, cost, reused = [], 0.0, 0
        for pricer in self._pricers:
            saved = self._saved_price(pricer, item)
            if saved is not None:
                prices.append(saved)
                reused += 1
                continue
            estimate = estimate_one(pricer, item)
            prices.append(estimate.price)
            cost += estimate.cost or 0.0
        price = self._combine(np.array([prices]))[0]
        return to_estimate(
            Estimate(price=float(price), cost=cost, cached=reused == len(self._pricers))
        )

    @property
    def predict_batch(self) -> Callable[[Sequence[Item]], list[float]]:
        # Offered only when every member prices in bulk: otherwise the Tester asks item by item
        # through `estimate`, which records what paid members cost.
        if not all(hasattr(p, "predict_batch") for p in self._pricers):
            raise AttributeError("predict_batch")
        return self._predict_batch

    @property
    def bulk_size(self) -> int:
        # The smallest a member asks for: a slow open-weights member sets the pace of writing.
        sizes = [p.bulk_size for p in self._pricers if hasattr(p, "bulk_size")]
        if not sizes:
            raise AttributeError("bulk_size")
        return min(sizes)

    def _predict_batch(self, items: Sequence[Item]) -> list[float]:
        return [float(p) for p in self._combine(self._predict_matrix(items, strict=True))]

    def _combine(self, predictions: np.ndarray) -> np.ndarray:
        if self.method == "mean":
            return predictions.mean(axis=1)
        if self.method == "median":
            return np.median(predictions, axis=1)
        check_fitted(self, "weights_")
        return predictions @ self.weights_

    def _predict_matrix(self, items: Sequence[Item], *, strict: bool) -> np.ndarray:
        """Members' prices, one column each; with `strict` off, a failed item is NaN."""
        columns = [self._member_prices(p, items, strict) for p in self._pricers]
        return np.column_stack(columns)

    def _member_prices(self, pricer: Pricer, items: Sequence[Item], strict: bool) -> np.ndarray:
        prices = np.full(len(items), np.nan)
        missing = []
        for i, item in enumerate(items):
            saved = self._saved_price(pricer, item)
            if saved is None:
                missing.append(i)
            else:
                prices[i] = saved
        if not missing:
            return prices
        batch = getattr(pricer, "predict_batch", None)
        if batch is not None:
            try:
                values = list(batch([items[i] for i in missing]))
                if len(values) != len(missing):
                    raise ValueError(f"{pricer.name}: predict_batch returned the wrong count")
                if strict:
                    prices[missing] = [to_estimate(v).price for v in values]
                else:  # NaN: the member failed that item alone (HFPricer), not the batch
                    prices[missing] = [_price_or_nan(v) for v in values]
                return prices
            except Exception:
                if strict:
                    raise
        for i in missing:
            try:
                prices[i] = estimate_one(pricer, items[i]).price
            except Exception:
                if strict:
                    raise
        return prices

    def _out_of_fold(self, items: list[Item]) -> np.ndarray:
        """Each learning member's prices for `items`, from copies fitted without those items."""
        return out_of_fold(
            self._pricers,
            [_fresh_copies(p) for p in self._pricers],
            items,
            folds=self.folds,
            seed=self.seed,
            predict=lambda pricer, held: self._member_prices(pricer, held, strict=False),
        )

    def _saved_price(self, pricer: Pricer, item: Item) -> float | None:
        if learns(pricer) or not self.saved:
            return None
        if self._saved_prices is None:
            self._saved_prices = _index_saved(self.saved)
        return self._saved_prices.get((pricer.name, item.id))

    def __repr__(self) -> str:
        return f"Ensemble({self.name})"


def ensemble_from_spec(
    members: str = "",
    method: Method = "stack",
    weights: Sequence[float] | None = None,
    *,
    loss: Literal["absolute", "squared"] = "absolute",
    folds: int = 5,
    seed: int = 42,
    saved: Sequence[str | Path] = (),
) -> Ensemble:
    """The registry's factory: `ensemble:constant+random` stacks those two specs."""
    from pricebench.registry import make_pricer

    specs = [spec.strip() for spec in members.split("+") if spec.strip()]
    if not specs:
        raise PricerError("ensemble: name its members, as in ensemble:constant+random")
    if isinstance(saved, (str, Path)):  # one directory given on the command line
        saved = [saved]
    pricers = [make_pricer(spec) for spec in specs]
    return Ensemble(pricers, method, weights, loss=loss, folds=folds, seed=seed, saved=saved)


def _member(member: Pricer | Callable[[Item], Any] | str) -> Pricer:
    if isinstance(member, str):
        from pricebench.registry import make_pricer

        return make_pricer(member)
    return as_pricer(member)


def _price_or_nan(value: Any) -> float:
    try:
        return to_estimate(value).price
    except Exception:  # anything but a price fails the item
        return float("nan")


def _fresh_copies(pricer: Pricer) -> Callable[[], Any] | None:
    """What makes unfitted copies of a learning member, for the folds; None for the others."""
    if not learns(pricer):
        return None
    return lambda: clone_pricer(pricer)


def _index_saved(saved: Sequence[Results | str | Path]) -> dict[tuple[str, str], float]:
    from pricebench.results import find_runs

    runs = [r for r in saved if isinstance(r, Results)]
    runs += find_runs([r for r in saved if not isinstance(r, Results)])
    return {(run.name, r.id): r.guess for run in runs for r in run.priced if r.guess is not None}


def _stack_weights(predictions: np.ndarray, truth: np.ndarray, loss: str) -> np.ndarray:
    """Non-negative weights for the members' columns, the best of a fit and each lone member."""
    n, k = predictions.shape
    candidates = [np.eye(k)[j] for j in range(k)]
    if loss == "squared":
        candidates.append(nnls(predictions, truth)[0])
    else:
        # min sum(u + v) with predictions @ w + u - v = truth and w, u, v >= 0: the mean absolute
        # error as a linear programme.
        cost = np.concatenate([np.zeros(k), np.ones(2 * n)])
        identity = sparse.identity(n, format="csr")
        equality = sparse.hstack(
            [sparse.csr_matrix(predictions), identity, -identity], format="csr"
        )
        solved = linprog(cost, A_eq=equality, b_eq=truth, bounds=(0, None), method="highs")
        if solved.status == 0:
            candidates.append(np.maximum(solved.x[:k], 0.0))  # solver tolerance: -1e-15
    # A solver can return non-finite weights on degenerate columns (all but zero): never pick them.
    candidates = [w for w in candidates if np.isfinite(w).all()]
    errors = [np.abs(predictions @ w - truth).mean() for w in candidates]
    return candidates[int(np.nanargmin(errors))]
