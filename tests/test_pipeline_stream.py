"""Curating whole files: every bad-record kind counted, order-stable output over processes."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from pricebench import load_items
from pricebench.errors import DataError
from pricebench.pipeline.curate import (
    BLANK_LINE,
    BROKEN_JSON,
    INVALID_UTF8,
    KEPT,
    CurationConfig,
    Rejected,
    curate_record,
)
from pricebench.pipeline.stream import byte_ranges, category_from_name, curate_chunk, curate_file

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)
RAW_LINES = RAW_SAMPLE.read_bytes().splitlines(keepends=True)


def _priced(n: int) -> list[dict]:
    """The first n real records that carry a price."""
    found = []
    for line in RAW_LINES:
        record = json.loads(line)
        if record["price"] is not None:
            found.append(record)
            if len(found) == n:
                return found
    raise AssertionError("not enough priced records")


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """The first 300 real records, then one of each kind of bad record, then 100 more."""
    a, b, c, d, e = _priced(5)
    bad = [
        b"\n",
        b"   \n",
        b'{"title": "cut off", "price": 12.5, "features": ["half\n',
        b"[1, 2, 3]\n",
        b'{"title": "bad bytes \xff\xfe", "price": 3.0}\n',
        (json.dumps({**a, "price": "$1,299.99 - $1,499.99"}) + "\n").encode(),
        (json.dumps({**b, "price": "call for price"}) + "\n").encode(),
        (json.dumps({**c, "title": None}) + "\n").encode(),
        (json.dumps({**d, "price": 2500.0}) + "\n").encode(),
        (json.dumps({**e, "features": [], "description": [], "details": {}}) + "\n").encode(),
        (json.dumps({**a, "price": "$19.99", "parent_asin": "DOLLARSTR"}) + "\n").encode(),
        (
            json.dumps({**b, "details": json.dumps(b["details"]), "parent_asin": "DSTRING"}) + "\n"
        ).encode(),
    ]
    path = tmp_path / "meta_Health_and_Personal_Care.jsonl"
    path.write_bytes(b"".join(RAW_LINES[:300] + bad + RAW_LINES[300:400]))
    return path


def _expected_clean_counts(lines: list[bytes]) -> tuple[int, int]:
    """(records without a price, records with one) by a plain json.loads of each line."""
    priced = sum(1 for line in lines if json.loads(line)["price"] is not None)
    return len(lines) - priced, priced


def test_every_bad_record_kind_is_counted_never_fatal(damaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "curated.jsonl"
    # pricebench's own rules: they read "$19.99" (the course presets drop it, as the course did)
    report = curate_file(damaged, out, workers=1, config=CurationConfig())
    missing, priced = _expected_clean_counts(RAW_LINES[:400])
    counts = report.counts
    assert report.records == 412
    assert sum(counts.values()) == 412
    assert counts["blank_line"] == 2
    assert counts["broken_json"] == 1
    assert counts["not_an_object"] == 1
    assert counts["invalid_utf8"] == 1
    assert counts["non_numeric_price"] == 2
    assert counts["missing_title"] == 1
    assert counts["price_out_of_range"] == 1
    assert counts["missing_price"] == missing
    assert counts["kept"] + counts["too_little_text"] == priced + 2 + 1  # +2 good ones, +1 short
    assert report.notes["price_from_string"] == 1
    assert report.notes["details_as_json_string"] == 1
    assert report.examples["broken_json"][0].startswith("line 303: ")
    assert report.examples["blank_line"][0].startswith("line 301: ")
    items = load_items(out)
    assert len(items) == counts["kept"]
    assert {"DOLLARSTR", "DSTRING"} <= {item.id for item in items}
    assert all(item.category == "Health_and_Personal_Care" for item in items)


def test_the_real_sample_curates_fully(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    report = curate_file(RAW_SAMPLE, out, workers=1)
    missing, priced = _expected_clean_counts(RAW_LINES)
    assert report.records == len(RAW_LINES) == 2635
    assert report.counts["missing_price"] == missing
    assert report.kept + report.counts["too_little_text"] == priced
    assert len(load_items(out)) == report.kept


def test_processes_and_chunk_sizes_do_not_change_the_output(damaged: Path, tmp_path: Path) -> None:
    one = curate_file(damaged, tmp_path / "one.jsonl", workers=1)
    many = curate_file(damaged, tmp_path / "many.jsonl", workers=2, chunk_bytes=50_000)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "many.jsonl").read_bytes()
    assert one.counts == many.counts and one.notes == many.notes
    assert one.examples == many.examples  # line numbers survive chunking


def test_byte_ranges_cover_the_file_on_line_ends(damaged: Path) -> None:
    data = damaged.read_bytes()
    ranges = list(byte_ranges(damaged, chunk_bytes=10_000))
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(end == start for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False))
    assert all(data[end - 1 : end] == b"\n" for _, end in ranges)
    assert len(ranges) > 100


def test_gzipped_input_gives_the_same_items(damaged: Path, tmp_path: Path) -> None:
    packed = tmp_path / "meta_Health_and_Personal_Care.jsonl.gz"
    packed.write_bytes(gzip.compress(damaged.read_bytes()))
    plain = curate_file(damaged, tmp_path / "a.jsonl", workers=1)
    zipped = curate_file(packed, tmp_path / "b.jsonl", workers=2, chunk_bytes=100_000)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert plain.counts == zipped.counts


def test_progress_reaches_the_file_size_and_a_config_applies(tmp_path: Path) -> None:
    seen: list[int] = []
    strict = CurationConfig(max_price=20)
    report = curate_file(
        RAW_SAMPLE, tmp_path / "x.jsonl", config=strict, workers=1, chunk_bytes=1 << 20,
        on_progress=seen.append,
    )  # fmt: skip
    assert seen == sorted(seen) and seen[-1] == RAW_SAMPLE.stat().st_size
    assert report.counts["price_out_of_range"] > 0
    assert all(item.price <= 20 for item in load_items(tmp_path / "x.jsonl"))


def test_missing_source_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        curate_file(tmp_path / "nope.jsonl", tmp_path / "out.jsonl")


def test_category_from_file_name() -> None:
    assert category_from_name(Path("x/meta_Toys_and_Games.jsonl")) == "Toys_and_Games"
    assert category_from_name(Path("meta_Appliances.jsonl.gz")) == "Appliances"
    assert category_from_name(Path("mine.jsonl")) is None


class _Stop(Exception):
    pass


def test_an_interrupted_curation_resumes_from_its_checkpoint(damaged: Path, tmp_path: Path) -> None:
    whole = curate_file(damaged, tmp_path / "whole.jsonl", workers=1, chunk_bytes=60_000)
    out = tmp_path / "cut.jsonl"
    marks: list[int] = []

    def stop_after_three(done: int) -> None:
        marks.append(done)
        if len(marks) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        curate_file(damaged, out, workers=1, chunk_bytes=60_000, on_progress=stop_after_three)
    assert not out.exists() and out.with_name("cut.jsonl.part").exists()
    # bytes written after the checkpoint (a crash mid-write) are dropped on resume
    with open(out.with_name("cut.jsonl.part"), "ab") as partial:
        partial.write(b'{"half a line')
    later: list[int] = []
    resumed = curate_file(damaged, out, workers=2, chunk_bytes=60_000, on_progress=later.append)
    assert later[0] > marks[2]  # the first three chunks were not curated again
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert resumed.counts == whole.counts and resumed.records == whole.records
    assert resumed.examples == whole.examples
    assert not list(tmp_path.glob("cut.jsonl.*"))


def test_a_checkpoint_made_with_other_rules_is_not_used(damaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut.jsonl"

    def stop(done: int) -> None:
        raise _Stop

    with pytest.raises(_Stop):
        curate_file(damaged, out, workers=1, chunk_bytes=60_000, on_progress=stop)
    marks: list[int] = []
    strict = CurationConfig(max_price=20)
    report = curate_file(
        damaged, out, config=strict, workers=1, chunk_bytes=60_000, on_progress=marks.append
    )
    assert marks[0] < 70_000  # started from the beginning
    assert report.records == 412
    assert all(item.price <= 20 for item in load_items(out))


def test_a_bare_carriage_return_inside_a_line_is_one_record_plain_or_gzipped(
    tmp_path: Path,
) -> None:
    record = json.loads(RAW_LINES[0])
    line = json.dumps(record)[:-1].encode() + b', "note": "a\rb"}\n'  # a raw \r byte in a string
    lines = RAW_LINES[:37] + [line]
    plain = tmp_path / "meta_Health_and_Personal_Care.jsonl"
    plain.write_bytes(b"".join(lines))
    packed = tmp_path / "meta_Health_and_Personal_Care.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    config = CurationConfig()
    a = curate_file(plain, tmp_path / "a.jsonl", workers=1, config=config)
    b = curate_file(packed, tmp_path / "b.jsonl", workers=1, config=config)
    assert a.records == b.records == 38
    assert a.counts == b.counts


def test_a_truncated_gzip_counts_what_was_read_before_the_break(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(RAW_LINES[:400]))
    packed = tmp_path / "meta_Health_and_Personal_Care.jsonl.gz"
    packed.write_bytes(whole[: len(whole) * 3 // 4])
    out = tmp_path / "out.jsonl"
    report = curate_file(packed, out, workers=1, chunk_bytes=50_000)
    assert report.counts["truncated_input"] == 1
    assert 200 < report.records - 1 < 400  # the lines read before the break, each counted
    assert report.kept > 0 and len(load_items(out)) == report.kept
    assert not out.with_name(out.name + ".part").exists()


def _plain_outcome(line: bytes, config: CurationConfig) -> tuple[str, str | None]:
    """One line decoded whole and curated: the slow, obviously-right verdict."""
    if not line.strip():
        return BLANK_LINE, None
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        return INVALID_UTF8, None
    except json.JSONDecodeError:
        return BROKEN_JSON, None
    try:
        return KEPT, json.dumps(curate_record(record, config, "Health").fields)
    except Rejected as verdict:
        return verdict.kind, None


@pytest.mark.parametrize("preset", ["course-2024", "course-2025", "pricebench-clean"])
def test_a_chunk_scanned_in_place_gives_each_line_its_plain_verdict(
    damaged: Path, preset: str
) -> None:
    config = CurationConfig.preset(preset).model_copy(update={"token_counter": "approx"})
    first = json.loads(RAW_LINES[0])
    tricky = [
        # a null price that is not the record's: a nested one first, the real one later
        b'{"details": {"price": null}, ' + json.dumps(_priced(1)[0])[1:].encode() + b"\n",
        # a null price, then the same key again with a price (json.loads keeps the last)
        json.dumps({**first, "price": None})[:-1].encode() + b', "price": 12.5}\n',
        b'{"title": "no price key at all"}\n',
        b"\n",
        RAW_LINES[1].rstrip(b"\n"),  # the last line, with no line end
    ]
    data = damaged.read_bytes() + b"".join(tricky)
    lines = data.split(b"\n")  # no line end at the end of the data: no empty last line
    expected = [_plain_outcome(line, config) for line in lines]
    result = curate_chunk(data, config, "Health")
    assert result.lines == len(lines)
    assert dict(result.counts) == dict(Counter(kind for kind, _ in expected))
    assert result.items == [item for _, item in expected if item is not None]
    assert {kind for kind, _ in expected} >= {KEPT, BLANK_LINE, INVALID_UTF8, BROKEN_JSON}


def test_a_record_nested_deeper_than_json_decodes_is_counted_not_fatal() -> None:
    deep = b'{"title": "x", "price": 5, "details": {"k": ' + b"[" * 100_000 + b"]" * 100_000
    lines = deep + b"}}\n" + RAW_LINES[0]
    result = curate_chunk(lines, CurationConfig.preset("course-2025"), "Health")
    assert result.lines == 2 and result.counts[BROKEN_JSON] == 1


def test_a_mapped_range_gives_the_verdicts_of_its_bytes_read(damaged: Path, tmp_path: Path) -> None:
    from pricebench.pipeline.stream import _curate_range

    config = CurationConfig.preset("course-2024").model_copy(update={"token_counter": "approx"})
    # a price key at a line's end, its "null" on the next line; a cut-off "nul"
    cut = b'{"title": "t", "price": \nnull\n{"title": "t", "price": nul\n'
    source = tmp_path / "raw.jsonl"
    source.write_bytes(b"\n" * 7 + cut + damaged.read_bytes() + cut)  # ranges start off a page
    data = source.read_bytes()
    ranges = list(byte_ranges(source, chunk_bytes=5_000))
    assert len(ranges) > 3 and any(start % 4096 for start, _ in ranges)
    for start, end in ranges:
        mapped = _curate_range(str(source), start, end, config, "Health")
        read = curate_chunk(data[start:end], config, "Health")
        assert (mapped.lines, mapped.items, mapped.counts) == (read.lines, read.items, read.counts)
        assert (mapped.notes, mapped.examples) == (read.notes, read.examples)


@pytest.mark.parametrize("preset", ["course-2024", "course-2025", "pricebench-clean"])
def test_a_text_the_tokenizer_cannot_encode_is_its_own_outcome(preset: str, tmp_path: Path) -> None:
    """A lone surrogate (the JSON escape "\\ud800") in a description: the Llama tokenizer raises
    on it and no UTF-8 file can hold it. That record gets an outcome of its own; the file's other
    records are curated as without it, over processes too."""
    from pricebench.pipeline.build import build_dataset
    from pricebench.pipeline.curate import UNENCODABLE_TEXT

    config = CurationConfig.preset(preset)
    kept = []
    for record in _priced(60):
        try:
            curate_record(record, config, "Health_and_Personal_Care")
        except Rejected:
            continue
        kept.append(record)
    bad = {**kept[0], "description": ["A lone surrogate \ud800 here.", *kept[0]["description"]]}
    bad["title"] = "Unpaired \ud800 " + bad["title"]
    lines = [json.dumps(record) + "\n" for record in (*kept[1:], bad, *kept[1:3])]
    assert "\\ud800" in lines[len(kept) - 1]  # as JSON writes it: an escape, valid UTF-8 bytes
    raw = tmp_path / "meta_Health_and_Personal_Care.jsonl"
    raw.write_text("".join(lines), encoding="utf-8")
    report = curate_file(raw, tmp_path / "out.jsonl", config=config, workers=2, chunk_bytes=4_000)
    assert report.counts[UNENCODABLE_TEXT] == 1
    assert report.kept == len(kept) - 1 + 2
    assert report.examples[UNENCODABLE_TEXT][0].startswith(f"line {len(kept)}: ")
    options = {"test": 2, "workers": 1, "config": config}
    manifest = build_dataset(tmp_path / "ds", raw_files=[raw], **options)
    assert manifest.counts[UNENCODABLE_TEXT] == 1  # counted in the manifest
