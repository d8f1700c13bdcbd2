"""Dedupe, balance, split, save, manifest, and the whole build (fetch through a MockTransport)."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricebench import Item, load_dataset, load_items
from pricebench.cli import data as data_cli
from pricebench.errors import DataError
from pricebench.pipeline import stream
from pricebench.pipeline.balance import balance_slots, balance_weighted, dedupe
from pricebench.pipeline.build import BalanceOptions, build_dataset
from pricebench.pipeline.curate import CurationConfig
from pricebench.pipeline.fetch import REPOSITORY
from pricebench.pipeline.manifest import band_label, read_manifest
from pricebench.pipeline.split import split_items
from pricebench.pipeline.store import save_items
from tests.hub_standin import StandInHub, serve, use_hub

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)


def make(n: int, price: float, category: str = "Toys", start: int = 0) -> list[Item]:
    return [
        Item(id=f"{category}{price}-{i}", title=f"{category} {price} #{i}", text=f"text {category} "
             f"{price} {i}", price=price, category=category)
        for i in range(start, start + n)
    ]  # fmt: skip


def test_dedupe_drops_same_id_title_or_text_keeping_the_first() -> None:
    a = Item(id="a", title="Kettle", text="A kettle", price=10)
    items = [
        a,
        Item(id="a", title="Other", text="Other text", price=11),
        Item(id="b", title="Kettle", text="Different", price=12),
        Item(id="c", title="Pot", text="A kettle", price=13),
        Item(id="d", title="Pan", text="A pan", price=14),
    ]
    kept, dropped = dedupe(items)
    assert [item.id for item in kept] == ["a", "d"]
    assert dropped == Counter({"same_id": 1, "same_title": 1, "same_text": 1})


def test_slots_cap_cheap_slots_keep_expensive_ones_and_honour_category_weights() -> None:
    items = make(300, 10.0, "Automotive") + make(300, 10.2, "Toys") + make(50, 30.0, "Toys")
    items += make(500, 300.0, "Automotive")
    sample = balance_slots(items, cap=100, keep_above=240, category_weights={"Automotive": 0.05})
    per_slot = Counter(round(item.price) for item in sample)
    assert per_slot == {10: 100, 30: 50, 300: 500}
    in_ten = Counter(item.category for item in sample if round(item.price) == 10)
    assert in_ten["Toys"] > 80  # 20x the weight of Automotive
    assert sample == balance_slots(items, cap=100, category_weights={"Automotive": 0.05})
    assert sample != balance_slots(items, cap=100, category_weights={"Automotive": 0.05}, seed=1)


def test_weighted_sampling_favours_higher_prices_and_is_seeded() -> None:
    items = [item for p in range(1, 501) for item in make(4, float(p))]
    sample = balance_weighted(items, 400, seed=7)
    assert len(sample) == len({item.id for item in sample}) == 400
    mean_all = sum(i.price for i in items) / len(items)
    assert sum(i.price for i in sample) / 400 > mean_all * 1.3
    assert sample == balance_weighted(items, 400, seed=7)
    with pytest.raises(DataError, match="only 2,000 can be drawn"):
        balance_weighted(items, 5000)


def test_split_sizes_fractions_and_too_many() -> None:
    items = make(100, 5.0)
    parts = split_items(items, train=60, validation=10, test=20, seed=3)
    assert Counter(item.split for item in parts) == {"train": 60, "validation": 10, "test": 20}
    assert len({item.id for item in parts}) == 90
    assert parts == split_items(items, train=60, validation=10, test=20, seed=3)
    rest = split_items(items, test=0.25)
    assert Counter(item.split for item in rest) == {"train": 75, "test": 25}
    with pytest.raises(DataError, match="asked for 90 train .* only 100 are left"):
        split_items(items, train=90, test=20)


def test_saved_items_read_back_with_splits_and_extras(tmp_path: Path) -> None:
    items = [
        Item(id="x", title="X", text="x", price=3.0, category="C", split="train",
             extras={"weight_lb": 1.5, "brand": "B"}),
        Item(id="y", title="Y", text="y", price=4.0, category="C", split="test"),
    ]  # fmt: skip
    files = save_items(items, tmp_path)
    assert load_items(tmp_path / "items.jsonl") == items
    pyarrow = pytest.importorskip("pyarrow.parquet")  # an optional extra (pricebench[parquet])
    assert [f.name for f in files] == ["items.jsonl", "items.parquet"]
    table = pyarrow.read_table(tmp_path / "items.parquet").to_pylist()
    assert [row["id"] for row in table] == ["x", "y"] and table[0]["weight_lb"] == 1.5


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StandInHub]:
    """The stand-in hub (tests/hub_standin.py) holding the real sample as a raw category file."""
    raw = {"raw/meta_categories/meta_Health_and_Personal_Care.jsonl": RAW_SAMPLE.read_bytes()}
    stand_in = StandInHub({REPOSITORY: {"main": raw}})
    for url in serve(stand_in):
        use_hub(monkeypatch, url, tmp_path / "hf-cache")
        yield stand_in


def test_build_fetches_curates_balances_splits_and_writes_a_manifest(
    hub: StandInHub, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    manifest = build_dataset(
        out,
        categories=["Health_and_Personal_Care"],
        train=150,
        validation=20,
        test=50,
        balance=BalanceOptions("slots", slot_cap=10),
        workers=1,
    )
    data = load_dataset(out / "items.jsonl")
    assert (len(data.train), len(data.validation), len(data.test)) == (150, 20, 50)
    assert data.fingerprint == manifest.test_fingerprint
    (source,) = manifest.sources
    assert source.url and source.url.endswith("meta_Health_and_Personal_Care.jsonl")
    assert source.records == 2635 and source.counts["missing_price"] > 2000
    assert manifest.counts == source.counts
    assert manifest.curation.name == "course-2024"
    assert manifest.balance["recipe"] == "slots" and manifest.balance["slot_cap"] == 10
    assert manifest.categories == {"Health_and_Personal_Care": 220}
    assert sum(manifest.price_bands.values()) == 220
    everything = data.train + data.validation + data.test
    assert max(Counter(round(i.price) for i in everything if i.price < 240).values()) <= 10
    expected = dict.fromkeys(manifest.price_bands, 0)
    for item in everything:
        expected[band_label(item.price)] += 1
    assert manifest.price_bands == expected
    again, _ = read_manifest(out)
    assert again == manifest


def test_building_again_reuses_the_curated_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"raw_files": [RAW_SAMPLE], "test": 30, "workers": 1}
    first = build_dataset(tmp_path, **options)
    calls = []
    monkeypatch.setattr(
        "pricebench.pipeline.build.curate_file",
        lambda *a, **k: calls.append(a) or stream.curate_file(*a, **k),
    )
    second = build_dataset(tmp_path, **options)
    assert calls == []
    assert second.fingerprint == first.fingerprint
    build_dataset(tmp_path, **options, config=first.curation.model_copy(update={"min_chars": 400}))
    assert len(calls) == 1  # other rules: curated again


def test_build_without_sources_or_with_too_few_items_is_clear(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nothing to build from"):
        build_dataset(tmp_path)
    with pytest.raises(DataError, match="asked for 400,000 train"):
        build_dataset(tmp_path, raw_files=[RAW_SAMPLE], train=400_000, test=2000, workers=1)


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="pricebench")
    data_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_build_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    code = _cli("data", "build", "--raw", str(RAW_SAMPLE), "--out", str(out), "--train", "0.8",
                "--test", "0.2", "--recipe", "weighted", "--sample-size", "200", "--workers", "1",
                "--preset", "course-2025", "--no-progress")  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert _cli("data", "info", str(out)) == 0
    shown = capsys.readouterr().out
    assert "price histogram" in shown and "$10-25 |" in shown and "#" in shown
    assert "Health_and_Personal_Care" in shown and "missing_price" in shown
    assert "course-2025" in shown
    _cli("data", "info", str(out / "items.jsonl"), "--json")
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["splits"] == {"train": 160, "test": 40}
    assert manifest["balance"]["recipe"] == "weighted"


def test_cli_curate_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("data", "curate", str(RAW_SAMPLE), "--out", str(tmp_path / "c.jsonl"),
                "--workers", "1") == 0  # fmt: skip
    shown = capsys.readouterr().out
    assert "missing_price" in shown and "kept" in shown
    assert load_items(tmp_path / "c.jsonl")


def test_info_on_a_directory_without_manifest_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no manifest.json"):
        read_manifest(tmp_path)


def test_the_main_cli_prints_pipeline_errors_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pricebench.cli import main

    assert main(["data", "info", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert main(["data", "build", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "nothing to build from" in capsys.readouterr().err


def test_parquet_holds_every_column_even_when_the_first_item_lacks_one(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    items = make(3, 10.0)
    items[1] = items[1].model_copy(update={"extras": {"weight_lb": 2.5}})
    save_items(items, tmp_path)
    table = pq.read_table(tmp_path / "items.parquet")
    assert "weight_lb" in table.column_names
    assert table.column("weight_lb").to_pylist() == [None, 2.5, None]


def test_the_manifest_checksums_raw_sources_outputs_and_item_contents(tmp_path: Path) -> None:
    copy = tmp_path / "health.jsonl"  # a name that says nothing of the category
    copy.write_bytes(RAW_SAMPLE.read_bytes())
    said: list[str] = []
    manifest = build_dataset(
        tmp_path / "ds",
        raw_files=[(copy, "Health_and_Personal_Care")],
        test=30,
        workers=1,
        balance=BalanceOptions("slots", slot_cap=5, category_weights={"Health_Personal": 0.5}),
        say=said.append,
    )
    (source,) = manifest.sources
    assert source.sha256 == hashlib.sha256(RAW_SAMPLE.read_bytes()).hexdigest()
    assert source.category == "Health_and_Personal_Care"
    assert set(manifest.categories) == {"Health_and_Personal_Care"}
    for name in ("items.jsonl", "items.parquet"):
        data = (tmp_path / "ds" / name).read_bytes()
        assert manifest.checksums[name] == hashlib.sha256(data).hexdigest()
    assert len(manifest.content_sha256) == 64
    from pricebench.pipeline.manifest import content_sha256

    assert content_sha256(load_items(tmp_path / "ds" / "items.jsonl")) == manifest.content_sha256
    assert any("Health_Personal" in line and "match no item" in line for line in said)
    edited = load_items(tmp_path / "ds" / "items.jsonl")
    edited[0] = edited[0].model_copy(update={"text": edited[0].text + " changed"})
    assert content_sha256(edited) != manifest.content_sha256


def test_cli_build_takes_a_category_per_raw_file(tmp_path: Path) -> None:
    copy = tmp_path / "health.jsonl"
    copy.write_bytes(RAW_SAMPLE.read_bytes())
    out = tmp_path / "ds"
    assert _cli("data", "build", "--raw", f"{copy}=Health_and_Personal_Care", "--out", str(out),
                "--test", "20", "--workers", "1", "--no-progress") == 0  # fmt: skip
    manifest, _ = read_manifest(out)
    assert set(manifest.categories) == {"Health_and_Personal_Care"}


def test_a_raw_file_repeating_its_records_builds_with_the_repeats_deduplicated(
    tmp_path: Path,
) -> None:
    # the curated file then holds the same ids several times (items files may not): the build
    # reads small references, dedupes them, and reads the kept lines back one at a time
    twice = tmp_path / "meta_Health_and_Personal_Care.jsonl"
    twice.write_bytes(RAW_SAMPLE.read_bytes() * 2)
    options = {"test": 20, "workers": 1, "config": CurationConfig.preset("pricebench-clean")}
    manifest = build_dataset(tmp_path / "ds", raw_files=[twice], **options)
    once = build_dataset(tmp_path / "ds1", raw_files=[RAW_SAMPLE], **options)
    assert manifest.deduplicated["same_id"] == once.items
    assert (tmp_path / "ds" / "items.jsonl").read_bytes() == (
        tmp_path / "ds1" / "items.jsonl"
    ).read_bytes()


def test_approximate_token_counts_are_said_on_stderr_and_in_the_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert _cli("data", "build", "--raw", str(RAW_SAMPLE), "--out", str(out), "--test", "20",
                "--workers", "1", "--no-progress", "--token-counter", "approx") == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "WARNING" in err and "APPROXIMATE token counts" in err
    manifest, _ = read_manifest(out)
    assert manifest.curation.token_counter == "approx"
    assert manifest.warnings and "NOT the course's" in manifest.warnings[0]
    assert _cli("data", "info", str(out)) == 0
    assert "APPROXIMATE" in capsys.readouterr().out
    exact = _cli("data", "curate", str(RAW_SAMPLE), "--out", str(tmp_path / "c.jsonl"),
                 "--workers", "1")  # fmt: skip
    assert exact == 0 and "WARNING" not in capsys.readouterr().err
    assert build_dataset(tmp_path / "e", raw_files=[RAW_SAMPLE], test=20, workers=1).warnings == []
