"""Dense document vectors: TF-IDF reduced by truncated SVD (latent semantic analysis).

The course averaged word2vec vectors over each document. A word2vec dependency (gensim) is not
worth it here: TF-IDF-weighted SVD vectors are the same kind of thing (a dense, low-dimensional
summary of which words a document uses, learned from the training texts only) and come with
scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


class DocVectors(TransformerMixin, BaseEstimator):
    """Texts -> unit-length `n_components`-dimensional vectors (TF-IDF, then truncated SVD).

    On very small training sets the dimension shrinks to what the data allows.
    """

    def __init__(
        self, n_components: int = 300, max_features: int = 50_000, random_state: int = 42
    ) -> None:
        self.n_components = n_components
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, texts: Sequence[str], y: object = None) -> DocVectors:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y: object = None) -> np.ndarray:
        self.tfidf_ = TfidfVectorizer(
            max_features=self.max_features,
            sublinear_tf=True,
            strip_accents="unicode",
            stop_words="english",
        )
        counts = self.tfidf_.fit_transform(texts)
        n_components = max(1, min(self.n_components, counts.shape[1] - 1, counts.shape[0] - 1))
        self.svd_ = TruncatedSVD(n_components=n_components, random_state=self.random_state)
        return normalize(self.svd_.fit_transform(counts))

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return normalize(self.svd_.transform(self.tfidf_.transform(texts)))
