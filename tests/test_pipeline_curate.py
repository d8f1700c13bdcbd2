"""Curation rules, one at a time, and on real raw records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from pricebench.pipeline.curate import (
    MISSING_PRICE,
    MISSING_TITLE,
    NON_NUMERIC_PRICE,
    NOT_AN_OBJECT,
    NOTE_BAD_DETAILS,
    NOTE_DETAILS_AS_STRING,
    NOTE_PRICE_FROM_STRING,
    NOTE_TEXT_CAPPED,
    NOTE_WEIGHT_UNREADABLE,
    PRICE_DOLLAR_STRING,
    PRICE_OUT_OF_RANGE,
    TOO_LITTLE_TEXT,
    CurationConfig,
    Rejected,
    count_tokens,
    curate_record,
    cut_tokens,
    parse_details,
    parse_record_price,
    parse_weight,
    scrub,
    weight_from_details,
)

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)
LONG = (
    "A sturdy stainless steel kettle that boils water quickly and quietly, with an automatic "
    "shut-off, a removable filter and a cool-touch handle that stays comfortable to hold. "
)


def record(**changes: object) -> dict:
    base = {
        "main_category": "Appliances",
        "title": "Electric Kettle 1.7L",
        "features": [LONG, LONG],
        "description": ["Boils fast."],
        "price": 29.99,
        "details": {"Brand": "Acme", "Item Weight": "2.5 pounds", "Best Sellers Rank": "#1"},
        "parent_asin": "B0TESTKETL",
        "store": "Acme Store",
    }
    base.update(changes)
    return base


def verdict(raw: object, config: CurationConfig | None = None) -> str:
    with pytest.raises(Rejected) as caught:
        curate_record(raw, config or CurationConfig())
    return caught.value.kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, (12.5, False)),
        (7, (7.0, False)),
        ("12.99", (12.99, True)),
        ("$12.99", (12.99, True)),
        (" $1,299.00 ", (1299.0, True)),
        ("US $45", (45.0, True)),
    ],
)
def test_prices_from_numbers_and_strings(value: object, expected: tuple[float, bool]) -> None:
    assert parse_record_price(value) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, MISSING_PRICE),
        ("", MISSING_PRICE),
        ("None", MISSING_PRICE),  # how the `datasets` copy wrote null
        ("—", MISSING_PRICE),
        ("$10.99 - $15.99", NON_NUMERIC_PRICE),
        ("from $5", NON_NUMERIC_PRICE),
        ("twelve", NON_NUMERIC_PRICE),
        (float("nan"), NON_NUMERIC_PRICE),
        (float("inf"), NON_NUMERIC_PRICE),
        (True, NON_NUMERIC_PRICE),
        ([12.0], NON_NUMERIC_PRICE),
    ],
)
def test_prices_that_are_not_prices(value: object, kind: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_record_price(value)
    assert caught.value.kind == kind


def test_dollar_strings_can_be_refused() -> None:
    with pytest.raises(Rejected) as caught:
        parse_record_price("$12.99", accept_dollar_strings=False)
    assert caught.value.kind == PRICE_DOLLAR_STRING
    assert parse_record_price("12.99", accept_dollar_strings=False) == (12.99, True)


@pytest.mark.parametrize(
    ("text", "pounds"),
    [
        ("2.5 pounds", 2.5),
        ("2.5 Pounds", 2.5),
        ("1 Pound", 1.0),
        ("16 Ounces", 1.0),
        ("8 oz", 0.5),
        ("453.59237 Grams", 1.0),
        ("453592.37 Milligrams", 1.0),
        ("1 Kilograms", 2.20462),
        ("45 hundredths pounds", 0.45),
        ("3 lbs", 3.0),
        ("1,200 grams", 2.64555),
    ],
)
def test_weight_units(text: str, pounds: float) -> None:
    assert parse_weight(text) == pytest.approx(pounds, rel=1e-4)


def test_weight_unknown_units_and_fallback_to_dimensions() -> None:
    assert parse_weight("heavy") is None
    assert parse_weight("3 stones") is None
    assert weight_from_details({"Item Weight": "a lot"}) == (None, True)
    dims = {"Package Dimensions": "19.4 x 9.9 x 4.7 inches; 10.65 Pounds"}
    assert weight_from_details(dims) == (pytest.approx(10.65), False)
    assert weight_from_details({}) == (None, False)


def test_details_as_dict_json_string_or_garbage() -> None:
    assert parse_details({"Brand": "X"}) == ({"Brand": "X"}, None)
    assert parse_details('{"Brand": "X"}') == ({"Brand": "X"}, NOTE_DETAILS_AS_STRING)
    assert parse_details("{not json") == ({}, NOTE_BAD_DETAILS)
    assert parse_details("[1, 2]") == ({}, NOTE_BAD_DETAILS)
    assert parse_details(None) == ({}, None)


def test_details_given_as_a_json_string_make_the_same_item() -> None:
    as_dict = curate_record(record(), CurationConfig())
    as_string = curate_record(record(details=json.dumps(record()["details"])), CurationConfig())
    assert as_string.fields == as_dict.fields
    assert NOTE_DETAILS_AS_STRING in as_string.notes


def test_scrub_removes_part_numbers_markup_and_extra_whitespace() -> None:
    config = CurationConfig()
    text = 'Fits  model XJ-2000B1 and AB12345678 ["great"] {fit}   【new】 size 10'
    assert scrub(text, config) == "Fits model and great fit new size 10"
    upper = CurationConfig(part_number_rule="upper-alnum")
    assert scrub("Part ABC1234X fits 1234567 and Model-7 x", upper) == (
        "Part fits 1234567 and Model-7 x"
    )
    assert scrub("ABC1234X", CurationConfig(part_number_rule="off")) == "ABC1234X"


def test_boilerplate_detail_keys_are_dropped_and_the_rest_kept() -> None:
    fields = curate_record(record(), CurationConfig()).fields
    assert "Brand: Acme; Item Weight: 2.5 pounds" in fields["text"]
    assert "Best Sellers" not in fields["text"]
    assert fields["brand"] == "Acme"
    assert fields["weight_lb"] == 2.5
    assert fields["id"] == "B0TESTKETL"
    assert fields["text"].startswith("Electric Kettle 1.7L\n")


def test_price_range_title_and_text_length() -> None:
    assert verdict(record(price=0.49)) == PRICE_OUT_OF_RANGE
    assert verdict(record(price=999.5)) == PRICE_OUT_OF_RANGE
    assert curate_record(record(price=999.49), CurationConfig()).fields["price"] == 999.49
    assert verdict(record(price=1500), CurationConfig(max_price=1000)) == PRICE_OUT_OF_RANGE
    assert curate_record(record(price=1500), CurationConfig(max_price=2000)).fields["price"] == 1500
    assert verdict(record(title=None)) == MISSING_TITLE
    assert verdict(record(title="   ")) == MISSING_TITLE
    assert verdict(record(features=[], description=[], details={})) == TOO_LITTLE_TEXT
    assert verdict(record(), CurationConfig(min_tokens=500)) == TOO_LITTLE_TEXT
    assert verdict(["not", "a", "record"]) == NOT_AN_OBJECT
    assert verdict(record(price=None)) == MISSING_PRICE


def test_price_strings_are_kept_and_noted() -> None:
    kept = curate_record(record(price="$29.99"), CurationConfig())
    assert kept.fields["price"] == 29.99
    assert NOTE_PRICE_FROM_STRING in kept.notes


def test_token_cap_cuts_long_text_near_the_limit() -> None:
    long = record(features=[LONG] * 20)
    kept = curate_record(long, CurationConfig())
    assert NOTE_TEXT_CAPPED in kept.notes
    assert 150 <= count_tokens(kept.fields["text"]) <= 160
    uncapped = curate_record(long, CurationConfig(max_tokens=None, max_chars=100_000))
    assert count_tokens(uncapped.fields["text"]) > 500
    assert cut_tokens("one two three", 5) == ("one two three", False)
    assert cut_tokens("one two three", 2) == ("one two", True)


def test_token_count_counts_digits_in_threes_and_punctuation() -> None:
    assert count_tokens("price 1234567") == 1 + 3
    assert count_tokens("a, b.") == 4
    assert count_tokens("extraordinarily") == 3  # 7 + 7 + 1 letters


def test_category_from_the_source_else_main_category() -> None:
    assert (
        curate_record(record(), CurationConfig(), "Appliances").fields["category"] == "Appliances"
    )
    assert curate_record(record(), CurationConfig()).fields["category"] == "Appliances"
    assert curate_record(record(main_category=None), CurationConfig()).fields["category"] is None
    assert curate_record(record(main_category=7), CurationConfig()).fields["category"] is None


def test_records_without_an_asin_get_a_stable_id() -> None:
    first = curate_record(record(parent_asin=None), CurationConfig()).fields["id"]
    assert first == curate_record(record(parent_asin=None), CurationConfig()).fields["id"]
    other = curate_record(record(parent_asin=None, title="Kettle 2"), CurationConfig())
    assert other.fields["id"] != first


def test_config_is_validated_versioned_and_has_course_presets() -> None:
    config = CurationConfig()
    assert config.version == 2 and config.name == "pricebench-clean"
    assert CurationConfig.preset("pricebench-clean") == config
    assert CurationConfig.model_validate_json(config.model_dump_json()) == config
    with pytest.raises(ValidationError, match="above max_price"):
        CurationConfig(min_price=10, max_price=5)
    with pytest.raises(ValidationError):
        CurationConfig(unknown_rule=True)
    later = CurationConfig.preset("course-2025")
    assert (later.rules, later.min_chars, later.max_tokens) == ("course-2025", 600, None)
    first = CurationConfig.preset("course-2024")
    assert (first.rules, first.min_chars, first.min_tokens) == ("course-2024", 301, 151)
    assert first.token_counter == "llama" and first.resolved() is first
    with pytest.raises(ValueError, match="unknown curation preset"):
        CurationConfig.preset("course-1999")


def test_real_records_curate_into_valid_items() -> None:
    from pricebench import Item

    config = CurationConfig()
    outcomes: dict[str, int] = {}
    kept = []
    with open(RAW_SAMPLE, encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            try:
                kept.append(curate_record(raw, config, "Health_and_Personal_Care"))
            except Rejected as rejected:
                outcomes[rejected.kind] = outcomes.get(rejected.kind, 0) + 1
    raw_lines = RAW_SAMPLE.read_text(encoding="utf-8").splitlines()
    priced = sum(1 for line in raw_lines if json.loads(line)["price"] is not None)
    assert outcomes[MISSING_PRICE] == 2635 - priced
    assert (
        len(kept) + outcomes.get(TOO_LITTLE_TEXT, 0) + outcomes.get(PRICE_OUT_OF_RANGE, 0) == priced
    )
    assert len(kept) > 300
    for curated in kept:
        item = Item(**{k: v for k, v in curated.fields.items() if k not in ("brand", "weight_lb")})
        assert 0.5 <= item.price <= 999.49
        assert len(item.text) >= 300
        assert count_tokens(item.text) <= 160
    weights = [c.fields["weight_lb"] for c in kept if "weight_lb" in c.fields]
    assert len(weights) > len(kept) / 2 and all(w > 0 for w in weights)


@pytest.mark.parametrize("preset", ["pricebench-clean", "course-2024", "course-2025"])
def test_a_huge_title_gives_a_capped_text_and_a_title_cut_only_where_the_course_cut_it(
    preset: str,
) -> None:
    """The text is capped by every rule set. The title: pricebench-clean caps it; the course
    kept it whole (the 2025 course told duplicates by the whole title)."""
    config = CurationConfig.preset(preset).model_copy(update={"token_counter": "approx"})
    title = "Kettle " * 700_000  # ~5 MB
    fields = curate_record(record(title=title), config).fields
    assert len(fields["text"]) <= 4000
    if preset == "pricebench-clean":
        assert len(fields["title"]) <= 3000
    else:
        assert fields["title"] == title


def test_an_absurd_weight_is_unreadable_not_infinity() -> None:
    kept = curate_record(record(details={"Item Weight": "9" * 400 + " pounds"}), CurationConfig())
    assert "weight_lb" not in kept.fields and NOTE_WEIGHT_UNREADABLE in kept.notes
    json.loads(json.dumps(kept.fields, allow_nan=False))  # strict JSON: no Infinity


def test_the_quick_json_functions_give_what_json_gives() -> None:
    import codecs
    import json

    from pricebench.pipeline.curate import dumps_json, loads_json

    real = [json.loads(line) for line in RAW_SAMPLE.read_bytes().splitlines()[:200]]
    odd = {"é": ["ü", 1.5e300, float("nan"), -0.0, True, None, {"k": [[], {}]}], "\\": "\n\x00"}
    for value in [*real, odd]:
        assert dumps_json(value) == json.dumps(value)
    good = [json.dumps(value).encode() for value in [*real, odd]] + [
        b'{"a": 1}\r\n',  # a CRLF line: its whitespace is no extra data
        b'  {"a": "\xc3\xa9"}',  # whitespace first
        codecs.BOM_UTF8 + b'{"a": 1}',
        '{"a": "é"}'.encode("utf-16"),
        b'{"a": "\xed\xa0\x80"}',  # an encoded lone surrogate (json.loads lets it pass)
    ]
    for raw in good:
        assert repr(loads_json(raw)) == repr(json.loads(raw))  # repr: nan == nan there
    for raw in [b'{"a": 1} x', b'{"a": 1', b"", b"\xff{}", b'{"a": 1}\x0b']:
        with pytest.raises(ValueError) as quick:
            loads_json(raw)
        with pytest.raises(ValueError) as plain:
            json.loads(raw)
        assert str(quick.value) == str(plain.value)
