"""The course's week-6 baselines, reproduced: the same methods, written for pricebench.

Like the course, they fit raw prices by default (`log_target=False`); that is part of why they
are weak, and `local-best` shows how much a log target and better features add.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR

from pricebench.items import Item
from pricebench.local.base import LocalPricer, texts_of
from pricebench.local.features import CourseFeatures, TextNumbers
from pricebench.local.vectors import DocVectors


class FeatureLR(LocalPricer):
    """Linear regression on engineered features: weight, sales rank, text length, known brand."""

    spec = "feature-lr"

    def __init__(self, min_brand_count: int = 3, log_target: bool = False) -> None:
        self.min_brand_count = min_brand_count
        self.log_target = log_target

    def _model(self) -> Any:
        return make_pipeline(
            CourseFeatures(min_brand_count=self.min_brand_count),
            StandardScaler(),
            LinearRegression(),
        )


class BowLR(LocalPricer):
    """Bag of words (counts of the most frequent words, English stop words removed) + linear
    regression."""

    spec = "bow-lr"

    def __init__(self, max_features: int = 1000, log_target: bool = False) -> None:
        self.max_features = max_features
        self.log_target = log_target

    def _model(self, vocabulary: list[str] | None = None) -> Any:
        return make_pipeline(
            CountVectorizer(vocabulary=vocabulary, stop_words="english"),
            LinearRegression(),
        )

    def _fit(self, items: list[Item]) -> None:
        texts = texts_of(items)
        vocabulary = top_words(texts, self.max_features)
        self.model_ = self._model(vocabulary).fit(texts, self._target(items))


def top_words(texts: Sequence[str], limit: int) -> list[str]:
    """The `limit` most frequent words (English stop words out), ties broken alphabetically.

    CountVectorizer(max_features=...) breaks ties at the cut with numpy's unstable argsort,
    whose order differs between CPUs (AVX-512 machines use another sort): bow-lr scored $111.74
    on one and $110.56 on another from the same data. A stable order makes it the same everywhere.
    """
    counter = CountVectorizer(stop_words="english")
    totals = np.asarray(counter.fit_transform(texts).sum(axis=0)).ravel()
    words = counter.get_feature_names_out()  # alphabetical, so a stable sort keeps ties in it
    chosen = np.argsort(-totals, kind="stable")[:limit]
    return sorted(str(word) for word in words[chosen])


class VectorLR(LocalPricer):
    """Linear regression on dense document vectors (TF-IDF + SVD; see `vectors.py`)."""

    spec = "w2v-lr"

    def __init__(self, n_components: int = 300, log_target: bool = False) -> None:
        self.n_components = n_components
        self.log_target = log_target

    def _model(self) -> Any:
        return make_pipeline(DocVectors(self.n_components), LinearRegression())


class VectorSVR(LocalPricer):
    """A linear support vector regressor on the document vectors."""

    spec = "svr"

    def __init__(
        self,
        n_components: int = 300,
        C: float = 1.0,
        log_target: bool = False,  # noqa: N803
    ) -> None:
        self.n_components = n_components
        self.C = C
        self.log_target = log_target

    def _model(self) -> Any:
        return make_pipeline(
            DocVectors(self.n_components),
            LinearSVR(C=self.C, max_iter=10_000, random_state=42),
        )


class RandomForestPricer(LocalPricer):
    """A random forest (100 trees) on the document vectors.

    Each split looks at `max_features` of the 300 dimensions: "sqrt" (17) was the best of
    1.0 (all, the course's), 0.5, 0.33, 0.2, 0.1 and "sqrt" on a validation part of the course's
    train split ($93.47 against $100.69 for all) and fits 17 times faster (docs/benchmarks.md).
    """

    spec = "random-forest"

    def __init__(
        self,
        n_components: int = 300,
        n_estimators: int = 100,
        max_features: float | str = "sqrt",
        n_jobs: int | None = 2,
        random_state: int = 42,
        log_target: bool = False,
    ) -> None:
        self.n_components = n_components
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.log_target = log_target

    def _model(self) -> Any:
        forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        return make_pipeline(DocVectors(self.n_components), forest)

    def fit(self, train: Sequence[Item]) -> RandomForestPricer:
        super().fit(train)
        # Threads sum the trees' outputs in no fixed order, so predictions would differ in the
        # last bits from one call to the next; one thread keeps them reproducible.
        self.model_[-1].set_params(n_jobs=1)
        return self


class GBMPricer(LocalPricer):
    """Histogram gradient boosting on document vectors plus numbers from the text."""

    spec = "gbm"

    def __init__(
        self,
        n_components: int = 100,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        random_state: int = 42,
        log_target: bool = False,
    ) -> None:
        self.n_components = n_components
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.log_target = log_target

    def _model(self) -> Any:
        features = FeatureUnion(
            [("vectors", DocVectors(self.n_components)), ("numbers", TextNumbers())]
        )
        booster = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            early_stopping=False,
            random_state=self.random_state,
        )
        return make_pipeline(features, booster)


class NNPricer(LocalPricer):
    """A small neural network (two hidden layers) on document vectors and numbers from the text."""

    spec = "nn"

    def __init__(
        self,
        n_components: int = 300,
        hidden: tuple[int, ...] = (256, 64),
        alpha: float = 1e-3,
        max_iter: int = 200,
        random_state: int = 42,
        log_target: bool = True,
    ) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state
        self.log_target = log_target

    def _model(self) -> Any:
        features = FeatureUnion(
            [("vectors", DocVectors(self.n_components)), ("numbers", TextNumbers())]
        )
        network = MLPRegressor(
            hidden_layer_sizes=self.hidden,
            alpha=self.alpha,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        return make_pipeline(features, StandardScaler(), network)
