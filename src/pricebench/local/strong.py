"""The strong local pricer's components, and `local-best`: their blend fitted out of fold.

Components (each also a pricer on its own), all on a log-price target:
- `tfidf-ridge`: ridge regression on word 1-2-gram and character 2-5-gram TF-IDF plus numbers
  pulled from the text (weight, pack count, watts, ...).
- `knn`: the distance-weighted mean log price of the nearest training items by TF-IDF cosine.
- `tfidf-svr`: a linear SVR (squared loss, so a different regulariser from ridge) on the same
  sparse features.

`local-best` fits each component on K-1 folds of train to predict the held-out fold, learns
non-negative blend weights on those out-of-fold predictions, then refits every component on
all of train. Above `large_n` training items it keeps one ridge on word n-grams only (no
character n-grams, no k-NN, no out-of-fold refits), so that it scales to hundreds of thousands
of items on a laptop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.local.base import LocalPricer, check_train
from pricebench.local.features import TextNumbers
from pricebench.local.stacking import out_of_fold
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
        svr = LinearSVR(
            C=self.C,
            epsilon=0.0,
            loss="squared_epsilon_insensitive",
            dual="auto",
            max_iter=5000,
            random_state=42,
        )
        return make_pipeline(SparseText(max_char_features=self.max_char_features), Centered(svr))


class Centered(RegressorMixin, BaseEstimator):
    """Fits `regressor` to the target minus its mean: LinearSVR penalises its intercept, which
    would otherwise pull every log price toward zero."""

    def __init__(self, regressor: Any) -> None:
        self.regressor = regressor

    def fit(self, X: Any, y: np.ndarray) -> Centered:  # noqa: N803
        self.mean_ = float(np.mean(y))
        self.regressor_ = clone(self.regressor).fit(X, np.asarray(y) - self.mean_)
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.regressor_.predict(X) + self.mean_


class NeighbourPrices(LocalPricer):
    """The similarity-weighted mean log price of the `n_neighbors` most similar training items
    (cosine similarity of word 1-2-gram TF-IDF)."""

    spec = "knn"

    def __init__(self, n_neighbors: int = 10, power: float = 2.0, log_target: bool = True) -> None:
        self.n_neighbors = n_neighbors
        self.power = power
        self.log_target = log_target

    def _model(self) -> Any:
        vectoriser = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", dtype=np.float32
        )
        return make_pipeline(vectoriser, CosineNeighbours(self.n_neighbors, self.power))


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
        y = np.log1p([item.price for item in items])
        # Every fold must leave at least two items to fit on.
        folds = min(self.folds, len(items) // 2)
        if len(names) > 1 and folds >= 2:
            weights, intercept = self._blend(items, names, y, folds)
        else:
            weights, intercept = np.ones(len(names)) / len(names), 0.0
        self.pricers_ = [self._component(name, len(items)).fit(items) for name in names]
        self.component_names_ = names
        self.weights_ = weights
        self.intercept_ = intercept
        self.n_train_ = len(items)
        return self

    def _blend(
        self, items: list[Item], names: list[str], y: np.ndarray, folds: int
    ) -> tuple[np.ndarray, float]:
        oof = out_of_fold(
            names,
            [_COMPONENTS[name] for name in names],
            items,
            folds=folds,
            seed=self.random_state,
            predict=lambda pricer, held: pricer._raw_predict(held),
        )
        blender = LinearRegression(positive=True).fit(oof, y)
        return blender.coef_.astype(float), float(blender.intercept_)

    def _raw_predict(self, items: Sequence[Item]) -> np.ndarray:
        self._check_fitted()
        if not items:
            return np.zeros(0)
        columns = np.column_stack([p._raw_predict(items) for p in self.pricers_])
        return columns @ self.weights_ + self.intercept_

    def _check_fitted(self) -> None:
        check_fitted(self, "pricers_")

    def blend(self) -> dict[str, float]:
        """The fitted blend weights by component (and the intercept), for reports."""
        self._check_fitted()
        return {
            **dict(zip(self.component_names_, self.weights_.tolist(), strict=True)),
            "intercept": self.intercept_,
        }
