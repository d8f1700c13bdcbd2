"""The `course-2024` and `course-2025` presets against the course's own rules (tests/course_rules.py)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricebench.errors import DataError
from pricebench.pipeline.curate import (
    TOO_LITTLE_TEXT,
    CurationConfig,
    Rejected,
    _drop_codes_2025,
    _scrub_2024,
    _tokens_between,
    _tokens_end,
    count_tokens,
    curate_record,
    cut_tokens,
)
from tests.course_rules import (
    _scrub_2024 as course_scrub_2024,
)
from tests.course_rules import (
    as_datasets_row,
    course_2024_text,
    course_2025_text,
)

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)
# markup, every kind of whitespace, ASCII and other digits (Arabic-Indic, superscript, circled)
SCRUB_ALPHABET = 'aZ7 \n\t\r\x1c\x85\xa0\u2028:,[]"{}【】²١①ABC123xé_-.'
COURSE_2025_PATTERN = r"\b(?=[A-Z0-9]{7,}\b)(?=.*[A-Z])(?=.*\d)[A-Z0-9]+\b"


def records() -> list[dict]:
    return [json.loads(line) for line in RAW_SAMPLE.read_text(encoding="utf-8").splitlines()]


def kept_texts(config: CurationConfig) -> dict[str, str]:
    kept = {}
    for record in records():
        with contextlib.suppress(Rejected):
            kept[record["parent_asin"]] = curate_record(record, config).fields["text"]
    return kept


def test_course_2024_preset_keeps_the_course_items_with_the_course_text() -> None:
    config = CurationConfig.preset("course-2024").model_copy(update={"token_counter": "approx"})
    expected = {}
    for record in records():
        text = course_2024_text(as_datasets_row(record), count_tokens)
        if text is not None:  # the course then cut the text at 160 tokens
            expected[record["parent_asin"]] = cut_tokens(text, 160)[0]
    ours = kept_texts(config)
    assert len(expected) > 200
    assert ours.keys() == expected.keys()
    assert ours == expected


def test_course_2025_preset_keeps_the_course_items_with_the_course_text() -> None:
    expected = {}
    for record in records():
        text = course_2025_text(as_datasets_row(record))
        if text is not None:
            expected[record["parent_asin"]] = text
    ours = kept_texts(CurationConfig.preset("course-2025"))
    assert len(expected) == 269  # the count the course's parser gives on this sample
    assert ours.keys() == expected.keys()
    assert ours == expected


def test_course_2024_counts_contents_without_the_title_and_needs_more_than_150_tokens() -> None:
    config = CurationConfig.preset("course-2024").model_copy(update={"token_counter": "approx"})
    no_token_rule = config.model_copy(update={"min_tokens": 0})
    # contents = features + "\n" + "{}" (the empty details' JSON) + "\n": 296 + 4 = 300 characters
    short = {"title": "T" * 500, "price": 10.0, "description": [], "features": ["a" * 296]}
    with pytest.raises(Rejected) as caught:
        curate_record(short, no_token_rule)  # a long title does not count toward the minimum
    assert caught.value.kind == TOO_LITTLE_TEXT
    assert curate_record(dict(short, features=["a" * 297]), no_token_rule)
    few = {"title": "Kettle", "price": 10.0, "features": ["ab cd " * 60]}  # 121 tokens
    with pytest.raises(Rejected):
        curate_record(few, config)
    kept = curate_record(dict(few, features=["ab cd " * 100]), config).fields["text"]
    assert count_tokens(kept) == 160 and kept.startswith("Kettle\nab cd ab")


def test_course_2025_keeps_detail_keys_writes_json_and_list_reprs() -> None:
    record = {
        "title": "Foam Roller",
        "price": 20.0,
        "description": ["Firm foam.\nFor legs."],
        "features": ["x" * 700],
        "details": {"Date First Available": "May 1, 2020", "Part Number": "PN-1"},
    }
    text = curate_record(record, CurationConfig.preset("course-2025")).fields["text"]
    assert repr(["Firm foam.\nFor legs."]) in text  # a Python repr: the line break stays \\n
    assert '{"Date First Available": "May 1, 2020"}' in text and "Part Number" not in text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(SCRUB_ALPHABET)), max_size=120))
def test_the_fast_2024_scrub_is_the_course_scrub(text: str) -> None:
    assert _scrub_2024(text) == course_scrub_2024(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("AZ09 \n\r_a-é١.É\ud800😀")), max_size=120))
def test_the_fast_2025_code_removal_is_the_course_regex(text: str) -> None:
    import re

    assert _drop_codes_2025(text) == re.sub(COURSE_2025_PATTERN, "", text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abcdefgXYZ0123 \n\t\x0b\x1c\x1f_-.,")), max_size=90),
    st.integers(1, 12),
    st.integers(0, 12),
)
def test_the_ascii_token_match_is_the_unicode_one(text: str, low: int, extra: int) -> None:
    """ASCII texts are matched as bytes: the same token ends as the str pattern gives."""
    found = _tokens_between(low, low + extra).match(text)
    assert _tokens_end(text, low, low + extra) == (None if found is None else found.end())
    if found is not None and text[found.end() :].strip():  # cut: as counting one by one
        assert cut_tokens(text, low + extra)[0] == text[: found.end()]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abcXYZ01 \n_-.,™°–é²١\xa0\u2009\ud800😀")), max_size=90),
    st.integers(1, 12),
    st.integers(0, 12),
)
def test_a_text_with_non_ascii_symbols_has_the_unicode_token_ends(
    text: str, low: int, extra: int
) -> None:
    """Non-ASCII symbols are matched as bytes too (one "?" each): the same ends as the str
    pattern gives; texts with non-ASCII letters, digits or spaces take the str pattern."""
    found = _tokens_between(low, low + extra).match(text)
    assert _tokens_end(text, low, low + extra) == (None if found is None else found.end())


class _WordTokenizer:
    """Stands in for the Llama tokenizer: one token per word (encode / decode as transformers)."""

    def encode(self, text: str, add_special_tokens: bool = True) -> list[str]:
        assert add_special_tokens is False  # the course encoded without special tokens
        return text.split(" ")

    def decode(self, tokens: list[str]) -> str:
        return " ".join(tokens)


def test_course_2024_uses_the_llama_tokenizer_when_it_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pricebench.pipeline import curate

    monkeypatch.setattr(curate, "llama_tokenizer", lambda: _WordTokenizer())
    config = CurationConfig.preset("course-2024").resolved()
    assert config.token_counter == "llama"
    record = {"title": "Kettle", "price": 10.0}
    with pytest.raises(Rejected):  # 149 tokens (title and first word share one): not more than 150
        curate_record(dict(record, features=["word " * 149]), config)
    kept = curate_record(dict(record, features=["word " * 300]), config).fields["text"]
    assert len(kept.split(" ")) == 160
    monkeypatch.setattr(curate, "llama_tokenizer", lambda: None)
    assert CurationConfig.preset("course-2024").resolved().token_counter == "approx"
    with pytest.raises(DataError, match="token_counter 'llama' needs"):
        curate_record(dict(record, features=["word " * 300]), config)
    with pytest.raises(DataError, match="token_counter 'llama' needs"):
        config.resolved()  # checked before curating starts


@pytest.mark.parametrize("length", [296, 297, 1114, 1116, 1117, 1118, 1119, 1120, 1121])
def test_course_2024_text_around_the_cut_is_the_course_text(length: int) -> None:
    """Details are only written when the contents before them fall short of the 1,120 cut."""
    config = CurationConfig.preset("course-2024").model_copy(
        update={"token_counter": "approx", "min_tokens": 0, "max_tokens": None}
    )  # the character rules alone: the token cut would hide the end of the contents
    words = ("ab cd efg " * 200)[: length - 1] + "."  # + "\n" after the features: `length` + 1
    record = {
        "title": "Kettle 12345678",
        "price": 10.0,
        "description": [],
        "features": [words],
        "details": {"Brand": "Acme Kettles", "Item Weight": "2 pounds", "Model": "X1234567"},
    }
    expected = course_2024_text(as_datasets_row(record), lambda text: 1_000)
    try:
        ours = curate_record(record, config).fields["text"]
    except Rejected:
        ours = None
    assert ours == expected
