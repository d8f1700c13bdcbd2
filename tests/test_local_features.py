"""Numbers pulled from product text, and the course's engineered features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pricebench.local.features import (
    CourseFeatures,
    TextNumbers,
    best_seller_rank,
    brand_of,
    quantities,
    weight_pounds,
)
from pricebench.local.vectors import DocVectors


@pytest.mark.parametrize(
    ("text", "pounds"),
    [
        ("Weight: 23.9 lbs", 23.9),
        ("weighs 16 ounces", 1.0),
        ("Item weight 2 kg, 30 x 20 cm", 2 * 2.20462),
        ("500 g bag", 500 * 0.00220462),
        ("1,200 grams", 1200 * 0.00220462),
        ("no weight here, 12 inches", None),
    ],
)
def test_weight_in_pounds(text: str, pounds: float | None) -> None:
    found = weight_pounds(text)
    # rel=1e-5: the expected figures use 2.20462 lb/kg, the parser the exact 1/0.45359237.
    assert found == pytest.approx(pounds, rel=1e-5) if pounds is not None else found is None


def test_quantities_take_the_largest_of_each_kind() -> None:
    text = 'Pack of 12 AA batteries, 1.5V; charger 60W, 7" screen, 3000mAh, 64GB card, 2 pcs'
    found = quantities(text)
    assert found["pack"] == 12
    assert found["volts"] == 1.5
    assert found["watts"] == 60
    assert found["inches"] == 7
    assert found["mah"] == 3000
    assert found["storage_gb"] == 64
    assert "millilitres" not in found


def test_rank_and_brand() -> None:
    assert best_seller_rank("Part 1D6, Rank Automotive Automotive Bumpers 2,549, Available") == 2549
    assert best_seller_rank("no such thing") is None
    assert brand_of("Title: Dust cover\nBrand: The Perfect Dust Cover LLC\n") == (
        "the perfect dust cover llc"
    )
    assert brand_of("Title: Lilliput 7 inch monitor") == "lilliput"


def test_text_numbers_flags_missing_values() -> None:
    texts = ["Weight: 2 lbs, pack of 3", "nothing to see"]
    matrix = TextNumbers().fit(texts).transform(texts)
    names = TextNumbers.feature_names()
    assert matrix.shape == (2, len(names))
    row = dict(zip(names, matrix[0], strict=True))
    assert row["weight_lb"] == pytest.approx(math.log1p(2)) and row["weight_lb_present"] == 1
    assert row["pack"] == pytest.approx(math.log1p(3))
    empty = dict(zip(names, matrix[1], strict=True))
    assert empty["weight_lb_present"] == 0 and empty["weight_lb"] == 0
    assert np.all(np.isfinite(matrix))


def test_course_features_fill_missing_values_with_training_means() -> None:
    train = [
        "Title: A\nBrand: Acme\nWeight: 2 lbs",
        "Title: B\nBrand: Acme\nWeight: 4 lbs",
        "Title: C\nBrand: Acme\nRank Toys 100",
        "Title: D\nBrand: Other",
    ]
    features = CourseFeatures(min_brand_count=2).fit(train)
    assert features.mean_weight_ == 3.0 and features.mean_rank_ == 100.0
    assert features.known_brands_ == ["acme"]
    row = features.transform(["Title: E\nBrand: Acme"])[0]
    assert row.tolist() == [3.0, 100.0, float(len("Title: E\nBrand: Acme")), 1.0]
    assert features.transform(["Title: F\nBrand: Nobody"])[0][3] == 0.0


def test_doc_vectors_are_unit_length_and_shrink_on_tiny_data() -> None:
    texts = ["red apple pie", "green apple tart", "blue cheese", "apple cheese board"]
    vectors = DocVectors(n_components=300).fit(texts)
    out = vectors.transform(["apple pie with cheese"])
    assert out.shape[1] == 3  # at most one fewer than the training texts
    assert np.linalg.norm(out[0]) == pytest.approx(1.0)
