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
    llama_tokenizer,
)
from tests.course_rules import (
    _scrub_2024 as course_scrub_2024,
)
from tests.course_rules import (
    as_datasets_row,
    course_2024_item,
    course_2024_text,
    course_2025_text,
    course_tokenizer,
    synthetic_records,
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


def course_2024_expected(rows: list[dict]) -> dict[str, tuple[str, list[int]]]:
    """The course's kept items (2024), by id: (text, token ids), with the real tokenizer."""
    tokenizer = course_tokenizer()
    expected = {}
    for record in rows:
        kept = course_2024_item(as_datasets_row(record), tokenizer)
        if kept is not None:
            expected[record["parent_asin"]] = kept
    return expected


def assert_course_2024_exact(rows: list[dict]) -> int:
    expected = course_2024_expected(rows)
    config = CurationConfig.preset("course-2024")
    assert config.token_counter == "llama"  # exact by default
    ours = {}
    for record in rows:
        with contextlib.suppress(Rejected):
            ours[record["parent_asin"]] = curate_record(record, config).fields["text"]
    assert ours.keys() == expected.keys()
    assert ours == {key: text for key, (text, _) in expected.items()}
    # the token ids too: pricebench's tokenizer (the `tokenizers` library on the packaged file,
    # special tokens renamed to 3.1's) encodes as transformers' fast tokenizer does
    llama = llama_tokenizer()
    assert llama is not None
    for record in rows:
        text = course_2024_text(as_datasets_row(record), lambda text: 1_000)
        if text is not None and record["parent_asin"] in expected:
            assert llama.encode(text)[:160] == expected[record["parent_asin"]][1]
    return len(expected)


def test_course_2024_preset_keeps_the_course_items_with_the_course_text() -> None:
    """The real sample, the real tokenizer: the course's ids, token ids and texts, all equal."""
    assert assert_course_2024_exact(records()) == 251  # the course's count on this sample


def test_course_2024_preset_is_exact_on_a_larger_synthetic_file() -> None:
    assert assert_course_2024_exact(synthetic_records(1500)) > 500


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


def test_course_2024_needs_the_tokenizer_and_approximates_only_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pricebench.pipeline import curate

    config = CurationConfig.preset("course-2024")
    assert config.resolved().token_counter == "llama" and config.warning() is None
    # an old config's "auto" no longer falls back silently: it means the tokenizer
    assert CurationConfig.model_validate({"token_counter": "auto"}).token_counter == "llama"
    monkeypatch.setattr(curate, "llama_tokenizer", lambda: None)
    record = {"title": "Kettle", "price": 10.0, "features": ["word " * 300]}
    with pytest.raises(DataError, match=r"pip install 'pricebench\[course\]'"):
        config.resolved()  # checked before curating starts
    with pytest.raises(DataError, match="--token-counter approx"):
        curate_record(record, config)
    approx = config.model_copy(update={"token_counter": "approx"})
    assert approx.resolved() is approx
    assert "APPROXIMATE" in (approx.warning() or "") and "NOT the course's" in approx.warning()
    assert curate_record(record, approx).fields["text"].startswith("Kettle\nword")


def test_the_packaged_tokenizer_is_llama_31s() -> None:
    """Byte-level BPE of 128,000 tokens and Llama 3.1's special tokens (renamed where the
    packaged Llama 3 file names them otherwise)."""
    llama = llama_tokenizer()
    assert llama is not None and llama.source.startswith(("package:", "hf-cache:"))
    assert llama.tokenizer.get_vocab_size(with_added_tokens=False) == 128_000
    assert llama.encode("<|eom_id|><|python_tag|>") == [128008, 128010]
    assert llama.encode("<|reserved_special_token_247|>") == [128255]
    assert llama.decode(llama.encode("peace . Naka 's")) == "peace. Naka's"
    assert llama.encode("Hello world") == [9906, 1917]  # Llama 3's ids for these words
    # a pre-token that is a whole vocabulary entry is that entry (ignore_merges, as tiktoken)
    assert llama.encode(" kurtul") == [122690] and llama.encode(" Coğraf") == [127877]


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


def test_the_tokenizer_in_the_hugging_face_cache_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot laid out as huggingface_hub lays it out (refs/main -> snapshots/REV/)."""
    from pricebench.pipeline.llama import _packaged_file
    from pricebench.pipeline.llama import llama_tokenizer as load

    packaged = _packaged_file()
    assert packaged is not None
    repo = tmp_path / "models--meta-llama--Meta-Llama-3.1-8B"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snapshot / "tokenizer.json").write_bytes(packaged[0].read_bytes())
    (snapshot / "tokenizer_config.json").write_text('{"clean_up_tokenization_spaces": false}')
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    cached = load.__wrapped__()
    assert cached.source == "hf-cache:meta-llama/Meta-Llama-3.1-8B"
    assert cached.decode(cached.encode("peace .")) == "peace ."  # that config's clean-up: off
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    assert load.__wrapped__().source.startswith("package:")
