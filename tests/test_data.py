import gzip
import json

import pytest

from pricebench import DataError, load_dataset, load_items
from tests.conftest import COURSE_ITEMS, UK_TOYS


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def record(n, **overrides):
    return {"id": f"x{n}", "title": f"Thing {n}", "text": f"Thing {n} text", "price": n + 1.0} | (
        overrides
    )


def test_course_items_load_with_their_split():
    data = load_dataset(COURSE_ITEMS)
    assert (len(data.train), len(data.test), len(data.validation)) == (1952, 500, 0)
    assert all(item.split == "test" for item in data.test)
    assert data.test[0].extras["format"] in ("raw", "summary")
    assert len(load_items(COURSE_ITEMS, split="test")) == 500


def test_uk_toys_csv_loads_with_named_columns():
    data = load_dataset(
        UK_TOYS,
        text_columns=["product_name"],
        price_column="price_gbp",
        id_column="uniq_id",
        drop_unpriced=True,
        price_range=(0.5, 999.49),
    )
    assert len(data.train) + len(data.test) == 8559
    assert data.dropped == 10000 - 8559
    assert abs(len(data.test) - 0.2 * 8559) <= 1
    assert data.train[0].extras["manufacturer"]


def test_split_without_a_split_field_is_seeded_and_deterministic(tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", [record(n) for n in range(100)])
    first = load_dataset(path, seed=7)
    again = load_dataset(path, seed=7)
    other = load_dataset(path, seed=8)
    assert [i.id for i in first.test] == [i.id for i in again.test]
    assert [i.id for i in first.test] != [i.id for i in other.test]
    assert (len(first.train), len(first.test)) == (80, 20)
    with_val = load_dataset(path, validation_fraction=0.1)
    assert (len(with_val.train), len(with_val.validation), len(with_val.test)) == (70, 10, 20)


def test_with_validation_carves_train_and_leaves_test_alone():
    data = load_dataset(COURSE_ITEMS).with_validation(0.1, seed=1)
    assert len(data.validation) == 195 and len(data.train) == 1952 - 195
    assert {i.id for i in data.validation}.isdisjoint(i.id for i in data.train)
    assert len(data.test) == 500


def test_gzipped_jsonl_reads_like_plain(tmp_path):
    path = tmp_path / "items.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(record(n)) + "\n" for n in range(5))
    assert [i.price for i in load_items(path)] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_jsonl_without_ids_numbers_items_by_line(tmp_path):
    rows = [{"text": "a red ball", "price": 3}, {"text": "a blue ball", "price": 4}]
    items = load_items(write_jsonl(tmp_path / "x.jsonl", rows))
    assert [i.id for i in items] == ["1", "2"]
    assert items[0].title == "a red ball"


# Each kind of bad input ends in one DataError naming the file and the line or column.
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"id": "a", "text": "t", "price": 3}\n{"id": "b", "text": "t", "pri',
            r"line 2: invalid JSON",
        ),
        ('{"id": "a", "text": "t"}\n', r"line 1: price is missing"),
        ('{"id": "a", "text": "t", "price": null}\n', r"line 1: price is missing"),
        (
            '{"id": "a", "text": "t", "price": -4}\n',
            r"line 1: price must be a positive number, got -4",
        ),
        (
            '{"id": "a", "text": "t", "price": "cheap"}\n',
            r"line 1: price must be a number, got 'cheap'",
        ),
        ('{"id": "a", "price": 3}\n', r"line 1: field 'text' is missing"),
        ('{"id": "a", "text": "t", "price": 3}\n[1, 2]\n', r"line 2: expected a JSON object"),
        (
            '{"id": "a", "text": "t", "price": 3}\n{"id": "a", "text": "u", "price": 4}\n',
            r"line 2: id 'a' already used on line 1",
        ),
        ("", r"holds no items"),
        ("\n\n", r"holds no items"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        load_items(path)
    assert str(path) in str(caught.value)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "t", "price": 3}\n{"id": "b", "text": "\xff", "price": 3}\n'
    )
    with pytest.raises(DataError, match=r"bad.jsonl, line 2: not valid UTF-8 \(byte 0xff"):
        load_items(path)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load_items(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        load_items(tmp_path / "nope.jsonl")


def test_csv_missing_column_lists_the_columns(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("name,cost\nball,3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'price' \(columns are: name, cost\)"):
        load_items(path, text_columns=["name"])


def test_csv_bad_price_names_the_line(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("name,cost\nball,3\nkite,free\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"shop.csv, line 3: price must be a number, got 'free' \(column 'cost'\)"
    ):
        load_items(path, text_columns=["name"], price_column="cost")


def test_csv_empty_price_fails_unless_dropped(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text('name,cost\nball,3\n"kite, red",\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3: price is missing \(column 'cost'\)"):
        load_items(path, text_columns=["name"], price_column="cost")
    items = load_items(path, text_columns=["name"], price_column="cost", drop_unpriced=True)
    assert [i.text for i in items] == ["ball"]


def test_csv_with_only_a_header_is_empty(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("text,price\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no items"):
        load_items(path)


def test_mixed_split_fields_are_an_error(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [record(1, split="train"), record(2)])
    with pytest.raises(DataError, match="some items have a split field and some do not"):
        load_dataset(path)


def test_a_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "items.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": "a", "text": "t", "price": 3}\n' * 50)[:40])
    with pytest.raises(DataError, match=r"items.jsonl.gz, line 1: cannot read"):
        load_items(path)


def test_every_single_bit_flip_in_a_gzip_is_a_data_error_naming_a_line(tmp_path):
    lines = "".join(json.dumps(record(n)) + "\n" for n in range(200)).encode()
    packed = gzip.compress(lines)
    path = tmp_path / "items.jsonl.gz"
    # Flips through the compressed body: some used to surface as a bare zlib.error traceback.
    for position in range(10, len(packed) - 8, max(1, (len(packed) - 18) // 60)):
        for bit in (0, 3, 6):
            flipped = bytearray(packed)
            flipped[position] ^= 1 << bit
            path.write_bytes(bytes(flipped))
            try:
                load_items(path)
            except DataError as error:
                assert str(error).startswith(f"{path}, line ")
            # a flip that still decodes to valid items is not an error


def test_deeply_nested_json_is_one_clear_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    for depth in (100, 100_000):  # too deep to use; too deep for Python's own recursion
        nested = "[" * depth + "]" * depth
        path.write_text(
            json.dumps(record(0)) + "\n" + json.dumps(record(1))[:-1] + f', "x": {nested}}}\n',
            encoding="utf-8",
        )
        with pytest.raises(DataError, match=r"deep\.jsonl, line 2: JSON nested deeper than 64"):
            load_items(path)


def test_moderate_nesting_and_null_lines_keep_their_own_messages(tmp_path):
    nested = json.loads("[" * 10 + "]" * 10)
    items = load_items(write_jsonl(tmp_path / "ok.jsonl", [record(0, x=nested)]))
    assert items[0].extras["x"] == nested
    path = tmp_path / "null.jsonl"
    path.write_text("null\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: expected a JSON object"):
        load_items(path)


def test_a_csv_with_a_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,text,price,price\na,thing,3,4\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dup\.csv, line 1: column 'price' appears twice"):
        load_items(path)


def test_asking_for_a_split_the_file_lacks_is_an_error(tmp_path):
    plain = write_jsonl(tmp_path / "plain.jsonl", [record(0), record(1)])
    with pytest.raises(DataError, match=r"no item in split 'test' \(no split field\)"):
        load_items(plain, split="test")
    split = write_jsonl(tmp_path / "split.jsonl", [record(0, split="train")])
    with pytest.raises(DataError, match=r"no item in split 'test' \(splits in the file: train\)"):
        load_items(split, split="test")
    assert len(load_items(split, split="train")) == 1
