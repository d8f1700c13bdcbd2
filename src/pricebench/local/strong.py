"""The strong local pricer's components, and `local-best`: their blend fitted out of fold.

Components (each also a pricer on its own), all on a log-price target:
- `tfidf-ridge`: ridge regression on word 1-2-gram and character 2-5-gram TF-IDF plus numbers
  pulled from the text (weight, pack count, watts, ...).
- `knn`: the distance-weighted mean log price of the nearest training items by TF-IDF cosine.
- `tfidf-svr`: a linear SVR (squared loss, so a different regulariser from ridge) on the same
  sparse features.

`local-best` vectorises the training texts once for each kind of features (the components that
share features share one vectoriser), fits each component's regressor on K-1 folds of those rows
to predict the held-out fold, learns non-negative blend weights on those out-of-fold predictions,
then refits every regressor on all of train. Above `large_n` training items it keeps one ridge
on word n-grams only (no character n-grams, no k-NN, no out-of-fold refits), so that it scales to
hundreds of thousands of items on a laptop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.local.base import LocalPricer, check_train, one_thread, texts_of
from pricebench.local.features import TextNumbers
from pricebench.pricer import check_fitted


class SparseText(TransformerMixin, BaseEstimator):
    """Texts -> word and character n-gram TF-IDF, plus scaled numbers from the text, as one
    sparse matrix. `max_char_features=0` leaves out the character n-grams (much faster)."""

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        max_char_features: int = 200_000,
        numbers: bool = True,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_char_features = max_char_features
        self.numbers = numbers

    def fit(self, texts: Sequence[str], y: object = None) -> SparseText:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y: object = None) -> sparse.csr_matrix:
        # min_df=2 keeps the vocabulary to words seen twice, except on tiny training sets.
        min_df = 2 if len(texts) >= 20 else 1
        self.words_ = TfidfVectorizer(
            ngram_range=self.word_ngrams,
            min_df=min_df,
            sublinear_tf=True,
            strip_accents="unicode",
            dtype=np.float32,
        )
        self.chars_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.char_ngrams,
            min_df=min_df,
            max_features=self.max_char_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        blocks = [self.words_.fit_transform(texts)]
        if self.max_char_features:
            blocks.append(self.chars_.fit_transform(texts))
        if self.numbers:
            self.scaler_ = StandardScaler()
            blocks.append(sparse.csr_matrix(self.scaler_.fit_transform(_numbers(texts))))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        blocks = [self.words_.transform(texts)]
        if self.max_char_features:
            blocks.append(self.chars_.transform(texts))
        if self.numbers:
            blocks.append(sparse.csr_matrix(self.scaler_.transform(_numbers(texts))))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)


def _numbers(texts: Sequence[str]) -> np.ndarray:
    return TextNumbers().fit(texts).transform(texts)


class TfidfRidge(LocalPricer):
    """Ridge regression on word + character TF-IDF and numbers from the text (log price)."""

    spec = "tfidf-ridge"

    def __init__(
        self, alpha: float = 1.0, max_char_features: int = 200_000, log_target: bool = True
    ) -> None:
        self.alpha = alpha
        self.max_char_features = max_char_features
        self.log_target = log_target

    def _model(self) -> Any:
        return make_pipeline(
            SparseText(max_char_features=self.max_char_features), Ridge(alpha=self.alpha)
        )


class TfidfSVR(LocalPricer):
    """A linear SVR with squared loss on the same sparse features as `tfidf-ridge`."""

    spec = "tfidf-svr"

    def __init__(
        self,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        max_char_features: int = 200_000,
        log_target: bool = True,
    ) -> None:
        self.C = C
        self.max_char_features = max_char_features
        self.log_target = log_target

    def _model(self) -> Any:
        return make_pipeline(
            SparseText(max_char_features=self.max_char_features), Centered(SquaredSVR(self.C))
        )


class SquaredSVR(RegressorMixin, BaseEstimator):
    """scikit-learn's `LinearSVR(loss="squared_epsilon_insensitive", epsilon=0)`, solved as the
    ridge regression it is.

    With epsilon 0 its loss is the squared error and liblinear penalises the intercept like a
    weight (`intercept_scaling=1`), so it minimises C * sum((y - w.x - b)^2) + (|w|^2 + b^2) / 2:
    a ridge regression on [x, 1] with alpha = 1 / (2 C) and no separate intercept. `Ridge`'s
    conjugate-gradient solver finds it in 1.0 CPU-s on the course's 1,952 training items, where
    liblinear's coordinate descent needed 587 passes and 3.5 CPU-s (predictions within 1e-3 in
    log price of liblinear run to convergence). Conjugate gradients keep memory linear in the
    data, as liblinear did (a Cholesky solve would hold an items x items matrix).
    """

    def __init__(self, C: float = 1.0) -> None:  # noqa: N803 - scikit-learn's name
        self.C = C

    def fit(self, X: Any, y: np.ndarray) -> SquaredSVR:  # noqa: N803
        if not self.C > 0:
            raise PricerError(f"tfidf-svr: C must be positive, got {self.C}")
        self.ridge_ = Ridge(alpha=1 / (2 * self.C), fit_intercept=False, solver="sparse_cg")
        self.ridge_.fit(_with_ones(X), y)
        self.coef_ = self.ridge_.coef_[:-1]
        self.intercept_ = float(self.ridge_.coef_[-1])
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return np.asarray(self.ridge_.predict(_with_ones(X)))


class Centered(RegressorMixin, BaseEstimator):
    """Fits `regressor` to the target minus its mean: a regressor that penalises its intercept
    (as LinearSVR does) would otherwise pull every log price toward zero."""

    def __init__(self, regressor: Any) -> None:
        self.regressor = regressor

    def fit(self, X: Any, y: np.ndarray) -> Centered:  # noqa: N803
        self.mean_ = float(np.mean(y))
        self.regressor_ = clone(self.regressor).fit(X, np.asarray(y) - self.mean_)
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.regressor_.predict(X) + self.mean_


def _with_ones(X: Any) -> sparse.csr_matrix:  # noqa: N803
    ones = np.ones((X.shape[0], 1), dtype=X.dtype)
    return sparse.hstack([X, ones], format="csr")


class NeighbourPrices(LocalPricer):
    """The similarity-weighted mean log price of the `n_neighbors` most similar training items
    (cosine similarity of word 1-2-gram TF-IDF)."""

    spec = "knn"

    def __init__(self, n_neighbors: int = 10, power: float = 2.0, log_target: bool = True) -> None:
        _check_neighbours(n_neighbors, power)  # refused before a fit, not for every item
        self.n_neighbors = n_neighbors
        self.power = power
        self.log_target = log_target

    def _model(self) -> Any:
        vectoriser = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", dtype=np.float32
        )
        return make_pipeline(vectoriser, CosineNeighbours(self.n_neighbors, self.power))


def _check_neighbours(n_neighbors: object, power: object) -> None:
    if not (isinstance(n_neighbors, Integral) and int(n_neighbors) >= 1):
        raise PricerError(f"knn: n_neighbors must be at least 1, got {n_neighbors!r}")
    if not (isinstance(power, (int, float)) and math.isfinite(power) and power >= 0):
        raise PricerError(f"knn: power must be a number at least 0, got {power!r}")


class CosineNeighbours(RegressorMixin, BaseEstimator):
    """k-nearest-neighbour regression on unit-length sparse rows, weighted by similarity**power.

    Written out rather than using KNeighborsRegressor so that the similarity matrix is computed
    in bounded chunks and no more neighbours are asked for than there are training rows.
    """

    def __init__(self, n_neighbors: int = 10, power: float = 2.0, chunk: int = 2048) -> None:
        self.n_neighbors = n_neighbors
        self.power = power
        self.chunk = chunk

    def fit(self, X: Any, y: np.ndarray) -> CosineNeighbours:  # noqa: N803
        self.X_ = sparse.csr_matrix(X, dtype=np.float32)
        self.y_ = np.asarray(y, dtype=float)
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        X = sparse.csr_matrix(X, dtype=np.float32)  # noqa: N806
        k = min(self.n_neighbors, self.X_.shape[0])
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], self.chunk):
            similarity = (X[start : start + self.chunk] @ self.X_.T).toarray()
            top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            weights = np.take_along_axis(similarity, top, axis=1).clip(1e-6) ** self.power
            prices = self.y_[top]
            out[start : start + self.chunk] = (weights * prices).sum(1) / weights.sum(1)
        return out


# Components of local-best, in order, and the ones kept on large training sets.
_COMPONENTS: dict[str, type[LocalPricer]] = {
    "tfidf-ridge": TfidfRidge,
    "tfidf-svr": TfidfSVR,
    "knn": NeighbourPrices,
}


class LocalBest(LocalPricer):
    """The strongest local pricer: a non-negative blend of the components above, with weights
    fitted on out-of-fold predictions of the training set."""

    spec = "local-best"

    def __init__(
        self,
        components: tuple[str, ...] = ("tfidf-ridge", "tfidf-svr", "knn"),
        folds: int = 5,
        large_n: int = 50_000,
        random_state: int = 42,
        log_target: bool = True,
    ) -> None:
        self.components = components
        self.folds = folds
        self.large_n = large_n
        self.random_state = random_state
        self.log_target = log_target

    def _chosen(self, n: int) -> list[str]:
        unknown = [c for c in self.components if c not in _COMPONENTS]
        if unknown:
            known = ", ".join(_COMPONENTS)
            raise PricerError(f"local-best: unknown component(s) {unknown}; known: {known}")
        if n > self.large_n:
            return ["tfidf-ridge"]
        return list(self.components)

    def _component(self, name: str, n: int) -> LocalPricer:
        if n > self.large_n:
            # Character n-grams and out-of-fold refits cost too much time and memory at this
            # size; with that much data, word n-grams alone lose little.
            return TfidfRidge(max_char_features=0)
        return _COMPONENTS[name]()

    def fit(self, train: Sequence[Item]) -> LocalBest:
        if not self.log_target:
            raise PricerError("local-best: its components work on log prices (log_target=True)")
        items = check_train(train, self.spec)
        names = self._chosen(len(items))
        with one_thread():
            if len(names) == 1:
                self.pricers_ = [self._component(names[0], len(items)).fit(items)]
                weights, intercept = np.ones(1), 0.0
            else:
                weights, intercept = self._fit_stack(items, names)
        self.component_names_ = names
        self.weights_ = weights
        self.intercept_ = intercept
        self.n_train_ = len(items)
        return self

    def _fit_stack(self, items: list[Item], names: list[str]) -> tuple[np.ndarray, float]:
        """Fit the components and their blend, each text vectorised once.

        Each kind of features (the sparse n-grams `tfidf-ridge` and `tfidf-svr` share, `knn`'s
        word TF-IDF) is fitted once on all training texts; out of fold, each component's
        regressor is fitted on the other folds' rows of that matrix. The vocabulary and its
        weights have seen the held-out texts (never their prices). Refitting them per fold and
        component, as before, cost 5 times the CPU for no difference on test (paired p = 0.33,
        docs/benchmarks.md).
        """
        y = np.log1p([item.price for item in items])
        texts = texts_of(items)
        pipelines = [self._component(name, len(items))._model() for name in names]
        features: dict[str, tuple[Any, sparse.csr_matrix]] = {}
        for pipeline in pipelines:
            key = repr(pipeline[0])  # the vectoriser's parameters: equal ones are shared
            if key not in features:
                features[key] = (pipeline[0], pipeline[0].fit_transform(texts))
        matrices = [features[repr(pipeline[0])][1] for pipeline in pipelines]
        # Every fold must leave at least two items to fit on.
        folds = min(self.folds, len(items) // 2)
        if folds >= 2:
            oof = np.empty((len(items), len(names)))
            splits = KFold(folds, shuffle=True, random_state=self.random_state).split(y)
            for fit_rows, held_rows in splits:
                for column, (pipeline, X) in enumerate(zip(pipelines, matrices, strict=True)):  # noqa: N806
                    regressor = clone(pipeline[-1]).fit(X[fit_rows], y[fit_rows])
                    oof[held_rows, column] = regressor.predict(X[held_rows])
            blender = LinearRegression(positive=True).fit(oof, y)
            weights, intercept = blender.coef_.astype(float), float(blender.intercept_)
        else:
            weights, intercept = np.ones(len(names)) / len(names), 0.0
        self.pricers_ = []
        for name, pipeline, X in zip(names, pipelines, matrices, strict=True):  # noqa: N806
            vectoriser = features[repr(pipeline[0])][0]
            pricer = self._component(name, len(items))
            pricer.model_ = make_pipeline(vectoriser, pipeline[-1].fit(X, y))
            pricer.n_train_ = len(items)
            self.pricers_.append(pricer)
        return weights, intercept

    def _raw_predict(self, items: Sequence[Item]) -> np.ndarray:
        self._check_fitted()
        if not items:
            return np.zeros(0)
        texts = texts_of(items)
        transformed: dict[int, Any] = {}  # a vectoriser shared by components runs once
        columns = []
        for pricer in self.pricers_:
            vectoriser, regressor = pricer.model_[0], pricer.model_[-1]
            if id(vectoriser) not in transformed:
                transformed[id(vectoriser)] = vectoriser.transform(texts)
            columns.append(regressor.predict(transformed[id(vectoriser)]))
        return np.column_stack(columns) @ self.weights_ + self.intercept_

    def _check_fitted(self) -> None:
        check_fitted(self, "pricers_")

    def blend(self) -> dict[str, float]:
        """The fitted blend weights by component (and the intercept), for reports."""
        self._check_fitted()
        return {
            **dict(zip(self.component_names_, self.weights_.tolist(), strict=True)),
            "intercept": self.intercept_,
        }
