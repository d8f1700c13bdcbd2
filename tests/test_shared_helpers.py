"""The shared helpers: one JSONL reader, one atomic writer, one weight parser, one budget."""

from __future__ import annotations

import json

import pytest

from pricebench.chat.budget import Budget
from pricebench.errors import DataError, ResultsError, StopRun
from pricebench.files import BadLine, read_jsonl, write_atomic
from pricebench.units import parse_weight, weights


def test_read_jsonl_names_the_bad_line_and_may_drop_a_torn_tail(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": 2}\n{"a": ')
    with pytest.raises(ResultsError, match=r"x.jsonl, line 4: not valid JSON"):
        list(read_jsonl(path, json.loads))
    rows = read_jsonl(path, json.loads, torn_tail=True)
    assert list(rows) == [(1, {"a": 1}), (3, {"a": 2})]

    def positive(line: bytes) -> int:
        value = int(line)
        if value <= 0:
            raise BadLine(f"{value} is not positive")
        return value

    path.write_bytes(b"3\n-1\n")
    with pytest.raises(DataError, match=r"line 2: -1 is not positive"):
        list(read_jsonl(path, positive, error=DataError))


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, "old")
    assert write_atomic(path, "new") == path and path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "state.json", "x")


def test_one_weight_parser_for_curation_and_features():
    assert parse_weight("1,200 grams") == pytest.approx(2.645547, rel=1e-6)
    assert parse_weight("2400 Milligrams") == pytest.approx(0.005291, rel=1e-3)
    assert parse_weight("12 oz/yd fabric") is None  # a rate, not a weight
    assert list(weights("0 lb box, 2 kg")) == [0.0, pytest.approx(4.409245, rel=1e-6)]


def test_budget_stops_at_either_cap():
    budget = Budget(max_calls=2, max_cost=1.0)
    budget.add(1, 0.5)
    assert budget.limited and budget.exhausted() is None
    budget.add(1, 0.0)
    with pytest.raises(StopRun, match=r"call budget \(2\) reached"):
        budget.check()
    assert Budget(max_cost=0.5).exhausted() is None and not Budget().limited
