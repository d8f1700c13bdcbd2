"""The course's weight, duplicates, balancing and split, against the course's code re-expressed
(tests/course_rules.py): the same ids in train, validation and test for the same seed."""

from __future__ import annotations

import contextlib
import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricebench import Item, load_items
from pricebench.pipeline.balance import dedupe_course
from pricebench.pipeline.build import BalanceOptions, build_dataset
from pricebench.pipeline.curate import (
    CurationConfig,
    course_2025_weight,
    curate_record,
    weight_from_details,
)
from tests.course_rules import (
    CourseItem,
    as_datasets_row,
    course_2024_dataset,
    course_2024_item,
    course_2025_dataset,
    course_2025_text,
    course_tokenizer,
    sample_records,
    synthetic_records,
)
from tests.course_rules import course_2025_weight as reference_weight

CATEGORIES = ("Automotive", "Tools_and_Home_Improvement", "Toys_and_Games")
# a few prices many records share: full whole-dollar slots (1.49 and 1.5 share slot 1 and 2)
PRICES = (0.5, 1.49, 1.5, 4.99, 5.2, 12.0, 12.4, 250.0, 99.5)


def test_the_2025_weight_is_the_courses_on_the_real_sample() -> None:
    config = CurationConfig.preset("course-2025")
    kept = differs_from_pricebench = 0
    for record in sample_records():
        row = as_datasets_row(record)
        if course_2025_text(row) is None:
            continue
        kept += 1
        details = json.loads(row["details"])
        expected = reference_weight(details)
        ours = curate_record(record, config).fields.get("weight_lb", 0)
        assert ours == expected, record["parent_asin"]
        own = weight_from_details(record.get("details") or {})[0]
        differs_from_pricebench += (round(own, 4) if own is not None else 0) != expected
    assert kept == 269
    assert differs_from_pricebench > 100  # pricebench's own reading is not the course's


WEIGHT_WORDS = st.sampled_from(
    ["pounds", "Pounds", "ounces", "grams", "milligrams", "kilograms", "hundredths", "lbs", "", "x"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.builds(
            lambda n, unit, tail: f"{n} {unit}{tail}",
            st.sampled_from(["1", "2.5", "0.3", "1e2", "abc", "", "1,000", "inf", "nan", " 3"]),
            WEIGHT_WORDS,
            st.sampled_from(["", " pounds", " Pounds", " ounces", "  pounds"]),
        ),
        st.text(alphabet=" 0123.pounds", max_size=12),
    )
)
def test_the_2025_weight_is_get_weight_on_any_string(text: str) -> None:
    expected = reference_weight({"Item Weight": text})
    ours, unreadable = course_2025_weight({"Item Weight": text})
    if expected is None or not math.isfinite(expected):  # the course raised, or no number
        assert (ours, unreadable) == (0.0, True)
    else:
        assert (ours, unreadable) == (expected, False)


def test_the_2025_duplicates_go_as_the_course_removed_them() -> None:
    items = [Item(id=str(i), title=f"t{i % 7}", text=f"f{i % 5}", price=1 + i) for i in range(40)]
    kept, dropped = dedupe_course(items, "course-2025", seed=42)
    # the course: shuffle, then the first of each title, then of each text
    order = list(items)
    random.seed(42)
    random.shuffle(order)
    seen: set[str] = set()
    order = [x for x in order if not (x.title in seen or seen.add(x.title))]  # type: ignore[func-returns-value]
    seen = set()
    order = [x for x in order if not (x.text in seen or seen.add(x.text))]  # type: ignore[func-returns-value]
    assert kept == order
    assert dropped == Counter({"same_title": 33, "same_text": 7 - len(order)})
    assert dedupe_course(items, "course-2024")[0] == items  # 2024: none removed


def _raw_files(tmp_path: Path, n: int) -> list[tuple[Path, str]]:
    files = []
    for number, category in enumerate(CATEGORIES):
        path = tmp_path / f"raw{number}.jsonl"
        records = synthetic_records(n, seed=number, prefix=f"C{number}-", prices=PRICES)
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        files.append((path, category))
    return files


def _split_ids(out: Path) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for item in load_items(out / "items.jsonl"):
        ids.setdefault(item.split or "none", []).append(item.id)
    return ids


def test_course_2024_dataset_has_the_courses_train_and_test_ids(tmp_path: Path) -> None:
    files = _raw_files(tmp_path, 700)
    tokenizer = course_tokenizer()
    course_items = []
    for path, category in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            kept = course_2024_item(as_datasets_row(record), tokenizer)
            if kept is not None:
                course_items.append(
                    CourseItem(
                        record["parent_asin"],
                        record["title"],
                        kept[0],
                        float(record["price"]),
                        category,
                    )  # fmt: skip
                )
    cap, n_test = 12, 60
    train, test = course_2024_dataset(course_items, n_train=10**9, n_test=0, cap=cap)
    n_train = len(train) - n_test  # the whole sample: train, then test
    train, test = course_2024_dataset(course_items, n_train=n_train, n_test=n_test, cap=cap)
    assert any(count > cap for count in Counter(round(i.price) for i in course_items).values())
    manifest = build_dataset(
        tmp_path / "ds",
        raw_files=files,
        config=CurationConfig.preset("course-2024"),
        balance=BalanceOptions("course-2024", slot_cap=cap),
        train=n_train,
        test=n_test,
        workers=1,
    )
    ids = _split_ids(tmp_path / "ds")
    assert ids["train"] == train and ids["test"] == test  # the same ids, in the same order
    assert manifest.deduplicated == {}  # the 2024 course removed no duplicate


def test_course_2025_dataset_has_the_courses_splits(tmp_path: Path) -> None:
    files = _raw_files(tmp_path, 700)
    course_items = []
    for path, category in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            with contextlib.suppress(ValueError):  # the course dropped unreadable prices
                full = course_2025_text(as_datasets_row(record))
                if full is not None:
                    course_items.append(
                        CourseItem(
                            record["parent_asin"],
                            record["title"],
                            full,
                            float(record["price"]),
                            category,
                        )  # fmt: skip
                    )
    size, n_train, n_val = 400, 250, 60
    train, val, test = course_2025_dataset(course_items, size, n_train, n_val)
    manifest = build_dataset(
        tmp_path / "ds",
        raw_files=files,
        config=CurationConfig.preset("course-2025"),
        balance=BalanceOptions("course-2025", size=size),
        train=n_train,
        validation=n_val,
        test=size - n_train - n_val,
        workers=1,
    )
    ids = _split_ids(tmp_path / "ds")
    assert (ids["train"], ids["validation"], ids["test"]) == (train, val, test)
    assert manifest.deduplicated["same_title"] > 50  # (a repeated text repeats its title too)


def test_repeated_ids_are_kept_under_new_ids_by_the_course_rules(tmp_path: Path) -> None:
    from tests.course_rules import RAW_SAMPLE

    twice = tmp_path / "meta_Health_and_Personal_Care.jsonl"
    twice.write_bytes(RAW_SAMPLE.read_bytes() * 2)
    manifest = build_dataset(tmp_path / "ds", raw_files=[twice], test=20, workers=1)
    assert manifest.items == 2 * 251 and manifest.deduplicated == {"ids_made_unique": 251}
    ids = [item.id for item in load_items(tmp_path / "ds" / "items.jsonl")]
    assert len(set(ids)) == len(ids) and sum(i.endswith("~2") for i in ids) == 251


def test_course_2025_refuses_a_sample_larger_than_what_can_be_drawn() -> None:
    from pricebench.errors import DataError
    from pricebench.pipeline.balance import balance_course_2025

    items = [CourseItem(str(i), str(i), str(i), 1.0 + i, None) for i in range(5)]
    assert len(balance_course_2025(items, None)) == 4  # the cheapest has weight 0
    with pytest.raises(DataError, match="only 4 can be drawn"):
        balance_course_2025(items, 5)


def test_cli_build_with_the_course_recipe(tmp_path: Path) -> None:
    import argparse

    from pricebench.cli import data as data_cli
    from pricebench.pipeline.manifest import read_manifest
    from tests.course_rules import RAW_SAMPLE

    parser = argparse.ArgumentParser(prog="pricebench")
    data_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "ds"
    args = parser.parse_args(["data", "build", "--raw", str(RAW_SAMPLE), "--out", str(out),
                              "--preset", "course-2025", "--recipe", "course-2025",
                              "--sample-size", "100", "--train", "80", "--test", "20",
                              "--workers", "1", "--no-progress"])  # fmt: skip
    assert args.func(args) == 0
    manifest, _ = read_manifest(out)
    assert manifest.balance["recipe"] == "course-2025" and manifest.splits == {
        "train": 80,
        "test": 20,
    }


def test_course_2025_tells_duplicates_by_the_whole_title_as_the_course_does(
    tmp_path: Path,
) -> None:
    """Titles longer than 3,000 characters: the course's duplicate check compares them whole, so
    titles alike in their first 3,000 characters and different after are different items, and
    the draw that follows depends on it."""
    rng = random.Random(5)
    head = "Replacement part for the model " + "X" * 3_000
    files = []
    for number, category in enumerate(CATEGORIES):
        records = synthetic_records(300, seed=number, prefix=f"L{number}-", prices=PRICES)
        for record in records:
            if rng.random() < 0.3:  # long titles, the same first 3,000 characters
                record["title"] = f"{head} variant {rng.randrange(40)}"
        path = tmp_path / f"raw{number}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        files.append((path, category))
    course_items = []
    for path, category in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            with contextlib.suppress(ValueError):
                full = course_2025_text(as_datasets_row(record))
                if full is not None:
                    course_items.append(
                        CourseItem(
                            record["parent_asin"],
                            record["title"],
                            full,
                            float(record["price"]),
                            category,
                        )  # fmt: skip
                    )
    long_titles = {item.title for item in course_items if len(item.title) > 3_000}
    assert len(long_titles) > 20  # whole, they differ; cut at 3,000 they are one
    size, n_train, n_val = 200, 120, 30
    train, val, test = course_2025_dataset(course_items, size, n_train, n_val)
    build_dataset(
        tmp_path / "ds",
        raw_files=files,
        config=CurationConfig.preset("course-2025"),
        balance=BalanceOptions("course-2025", size=size),
        train=n_train,
        validation=n_val,
        test=size - n_train - n_val,
        workers=1,
    )
    ids = _split_ids(tmp_path / "ds")
    assert (ids["train"], ids["validation"], ids["test"]) == (train, val, test)
    saved = {item.title for item in load_items(tmp_path / "ds" / "items.jsonl")}
    assert any(len(title) > 3_000 for title in saved)  # kept whole


def test_the_order_of_raw_files_is_said_and_recorded(tmp_path: Path) -> None:
    """The course drew from its categories concatenated in its own order, so the order of the
    sources changes the sample: the build says the order it used, the manifest records it, and a
    course recipe given the course's categories in another order says so."""
    files = _raw_files(tmp_path, 300)  # Automotive, Tools_and_Home_Improvement, Toys_and_Games
    options = {
        "config": CurationConfig.preset("course-2025"),
        "balance": BalanceOptions("course-2025", size=200),
        "test": 40,
        "workers": 1,
    }
    said: list[str] = []
    forward = build_dataset(tmp_path / "forward", raw_files=files, say=said.append, **options)
    assert forward.source_order == [str(path) for path, _ in files]
    shown = next(line for line in said if line.startswith("sources in this order"))
    assert shown.index("raw0.jsonl (Automotive)") < shown.index("raw2.jsonl (Toys_and_Games)")
    assert not forward.warnings and not any("WARNING" in line for line in said)
    said.clear()
    backward = build_dataset(tmp_path / "back", raw_files=files[::-1], say=said.append, **options)
    assert backward.source_order == [str(path) for path, _ in files[::-1]]
    assert _split_ids(tmp_path / "back")["test"] != _split_ids(tmp_path / "forward")["test"]
    (warning,) = backward.warnings
    assert "Automotive, Tools_and_Home_Improvement, Toys_and_Games" in warning
    assert any(line == f"WARNING: {warning}" for line in said)
