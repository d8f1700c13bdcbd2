"""Request files, their split to the per-batch limits, and the result-file parsers."""

from __future__ import annotations

import json

import pytest

from pricebench.batch import Limits, RequestFileWriter, anthropic_replies, custom_id, openai_replies
from pricebench.batch.requests import ManifestEntry, read_batch_manifest
from pricebench.errors import PricerError, ResultsError


def entry(n: int) -> ManifestEntry:
    return ManifestEntry(custom_id=f"i{n}", id=f"i{n}", title=f"T{n}", price=float(n), key="k")


def line(n: int, size: int = 10) -> dict:
    return {"custom_id": f"i{n}", "params": {"text": "x" * size}}


def test_files_split_on_the_byte_limit_and_keep_every_line(tmp_path):
    one = len((json.dumps(line(1), separators=(",", ":")) + "\n").encode())
    with RequestFileWriter(tmp_path, Limits(max_requests=100, max_bytes=3 * one)) as writer:
        indexes = [writer.add(line(n), entry(n)) for n in range(1, 8)]
    files = writer.close()
    assert indexes == [0, 0, 0, 1, 1, 1, 2]
    assert [f.n_requests for f in files] == [3, 3, 1]
    assert all(f.n_bytes <= 3 * one for f in files)
    assert all((tmp_path / f.name).stat().st_size == f.n_bytes for f in files)
    ids = [json.loads(x)["custom_id"] for f in files for x in (tmp_path / f.name).open()]
    assert ids == [f"i{n}" for n in range(1, 8)]
    assert list(read_batch_manifest(tmp_path / files[1].manifest)) == ["i4", "i5", "i6"]


def test_numbering_continues_after_earlier_batches(tmp_path):
    writer = RequestFileWriter(tmp_path, Limits(2, 10_000), first_index=3)
    for n in range(3):
        writer.add(line(n), entry(n))
    assert [f.name for f in writer.close()] == ["requests-003.jsonl", "requests-004.jsonl"]


def test_a_request_larger_than_a_whole_batch_is_an_error_naming_the_item(tmp_path):
    writer = RequestFileWriter(tmp_path, Limits(10, 50))
    with pytest.raises(PricerError, match="'i1'.*over the 50-byte limit"):
        writer.add(line(1, size=100), entry(1))


def test_limits_must_be_positive():
    with pytest.raises(PricerError):
        Limits(0, 10)


def test_custom_ids_keep_valid_item_ids_and_hash_the_others():
    assert custom_id("0059cf95002d") == "0059cf95002d"
    odd = custom_id("B00/X Y")
    assert odd.startswith("h-") and len(odd) <= 64 and odd == custom_id("B00/X Y")
    assert custom_id("x" * 65) != custom_id("x" * 66)


def test_openai_result_lines(tmp_path):
    path = tmp_path / "out.jsonl"
    rows = [
        {
            "custom_id": "a",
            "response": {"status_code": 200, "body": {"choices": []}},
            "error": None,
        },
        {
            "custom_id": "b",
            "response": {"status_code": 429, "body": {"error": {"message": "slow down"}}},
            "error": None,
        },
        {"custom_id": "c", "response": None, "error": {"code": "batch_expired", "message": "late"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    replies = list(openai_replies(path))
    assert replies[0].body == {"choices": []} and replies[0].error is None
    assert replies[1].error == "HTTP 429: slow down"
    assert replies[2].error == "batch_expired: late"


def test_anthropic_result_lines(tmp_path):
    path = tmp_path / "results.jsonl"
    rows = [
        {"custom_id": "a", "result": {"type": "succeeded", "message": {"content": []}}},
        {
            "custom_id": "b",
            "result": {
                "type": "errored",
                "error": {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "busy"},
                },
            },
        },
        {"custom_id": "c", "result": {"type": "canceled"}},
        {"custom_id": "d", "result": {"type": "expired"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    replies = list(anthropic_replies(path))
    assert replies[0].body == {"content": []}
    assert replies[1].error == "errored: overloaded_error: busy"
    assert replies[2].error.startswith("canceled") and replies[3].error.startswith("expired")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"custom_id": "a", "result": {"type": "succeeded", "message": {}}}\n{oops\n', "line 2"),
        ('{"result": {}}\n', "line 1: no custom_id"),
        ('{"custom_id": "a", "result": {"type": "weird"}}\n', "unknown result type"),
    ],
)
def test_bad_result_files_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "results-000.jsonl"
    path.write_text(text)
    with pytest.raises(ResultsError, match=message) as error:
        list(anthropic_replies(path))
    assert "results-000.jsonl" in str(error.value)
