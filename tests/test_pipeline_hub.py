"""`pricebench data get`: the course's hub datasets through huggingface_hub, from a stand-in hub
(`tests/hub_standin.py`, answering as the Hugging Face hub does: commits, `repo_info`, paginated
tree listings, a 302 to another host with `X-Repo-Commit`, `X-Linked-Etag` and `X-Linked-Size`,
the hub's error codes).

`data/<split>-00000-of-00001.parquet` on main is what `push_to_hub` writes, and
`default/partial-<split>/0000.parquet` on `refs/convert/parquet` what the hub's conversion writes
for a large dataset; rows are as the course pushed them (`id` None, `full` None for items_lite,
`weight` 0.0 where unknown).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricebench import load_dataset
from pricebench.cli import main
from pricebench.errors import DataError
from pricebench.pipeline.fetch import FetchError
from pricebench.pipeline.hub import get_dataset, resolve_dataset
from tests.hub_standin import StandInHub, go_offline, go_online, serve, use_hub

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def _items_rows(split: str, n: int, start: int) -> list[dict]:
    """Rows as the course's `Item.push_to_hub` wrote items_lite: no id, no full text."""
    return [
        {
            "title": f"Widget {split} {i}",
            "category": "Toys_and_Games",
            "price": 10.0 + i,
            "full": None,
            "weight": 1.5 if i % 2 else 0.0,
            "summary": f"Title: Widget {i}\nCategory: Toys\nDescription: a widget, {split}.",
            "prompt": None,
            "id": None,
        }
        for i in range(n)
    ]


def _pricer_rows(split: str, n: int) -> list[dict]:
    question = "How much does this cost to the nearest dollar?\n\n"
    return [
        {
            "text": f"{question}Gadget {split} {i}\nSome text about gadget {i}.\n\nPrice is ${20 + i}.00",
            "price": 20.0 + i + 0.49,
        }
        for i in range(n)
    ]


def _items_lite() -> dict[str, bytes]:
    return {
        "README.md": b"# items_lite",
        ".gitattributes": b"*.parquet filter=lfs",
        "data/train-00000-of-00001.parquet": _parquet(_items_rows("train", 30, 0)),
        "data/validation-00000-of-00001.parquet": _parquet(_items_rows("validation", 5, 100)),
        "data/test-00000-of-00001.parquet": _parquet(_items_rows("test", 8, 200)),
    }


def _repos() -> dict[str, dict[str, dict[str, bytes]]]:
    return {
        "ed-donner/items_lite": {"main": _items_lite()},
        "ed-donner/pricer-data": {
            "main": {"README.md": b"# pricer-data"},  # no data/ folder: the converted branch
            "refs/convert/parquet": {
                "default/partial-train/0000.parquet": _parquet(_pricer_rows("train", 20)),
                "default/partial-test/0000.parquet": _parquet(_pricer_rows("test", 6)),
            },
        },
        "someone/gated_items": {"main": _items_lite()},
    }


@pytest.fixture
def hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StandInHub]:
    stand_in = StandInHub(_repos())
    stand_in.gated.add("someone/gated_items")
    for url in serve(stand_in):
        use_hub(monkeypatch, url, tmp_path_factory.mktemp("hf-cache"))
        yield stand_in


def test_items_lite_keeps_its_three_splits_and_the_course_text(hub: StandInHub) -> None:
    said: list[str] = []
    dataset = get_dataset("items_lite", say=said.append)
    assert dataset.repo == "ed-donner/items_lite"
    assert dataset.splits == {"train": 30, "validation": 5, "test": 8}
    data = load_dataset(dataset.path)
    assert (len(data.train), len(data.validation), len(data.test)) == (30, 5, 8)
    first = data.test[0]
    assert first.price == 10.0 and first.category == "Toys_and_Games"
    assert first.text.startswith("Title: Widget 0")  # the summary the course priced from
    # the course pushed no ids: rebuilt from split and text, and said so
    assert re.fullmatch(r"h[0-9a-f]{15}", first.id)
    assert any("43 rows have no id" in line and "ids rebuilt" in line for line in said)
    assert data.train[1].extras["weight_lb"] == 1.5 and "weight_lb" not in data.train[0].extras
    assert data.fingerprint == dataset.test_fingerprint
    assert {path for path, _ in hub.gets} == {
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
    }  # not the README, and each from the CDN host
    assert len(hub.pages) >= 2  # the listing took several pages (Link: rel="next")
    info = json.loads(dataset.path.with_name("source.json").read_text())
    assert info["ids_rebuilt"] == 43 and len(info["files"]) == 3


def test_the_listing_follows_every_page(hub: StandInHub) -> None:
    """With a page of 2 entries the test split is on the last page: reporting success with the
    first page alone would lose it."""
    dataset = get_dataset("items_lite")
    assert set(dataset.splits) == {"train", "validation", "test"}
    assert any("cursor=" in page for page in hub.pages)


def test_pricer_data_from_the_partial_converted_branch_loses_its_prompt_wrapping(
    hub: StandInHub,
) -> None:
    said: list[str] = []
    dataset = get_dataset("pricer-data", say=said.append)
    data = load_dataset(dataset.path)
    assert (len(data.train), len(data.test)) == (20, 6)
    item = data.test[2]
    assert item.text == "Gadget test 2\nSome text about gadget 2."
    assert item.title == "Gadget test 2" and item.price == 22.49
    assert any("conversion is partial" in line for line in said)
    info = json.loads(dataset.path.with_name("source.json").read_text())
    assert info["revision"] == "refs/convert/parquet"


def test_files_land_in_the_hugging_face_cache_and_are_reused(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    get_dataset("items_lite", directory=tmp_path / "a")
    cache = Path(os.environ["HF_HUB_CACHE"]) / "datasets--ed-donner--items_lite"
    assert (cache / "refs" / "main").is_file()
    assert len(list((cache / "blobs").iterdir())) == 3
    hub.gets.clear()
    # converted again elsewhere (as after `datasets.load_dataset` filled the cache): no download
    again = get_dataset("items_lite", directory=tmp_path / "b")
    assert hub.gets == [] and again.splits["test"] == 8 and not again.cached
    hub.gets.clear()
    assert get_dataset("items_lite", directory=tmp_path / "b").cached and hub.gets == []


def test_a_cut_download_resumes_where_it_stopped(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub 2 resumes within the call, from the chunks it wrote (a new process starts
    the file over); its 10 MB chunks are made 100 bytes here so that a small file shows it."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 100)
    hub.cut_next = 300
    dataset = get_dataset("items_lite", directory=tmp_path)
    (resumed,) = [path for path, wanted in hub.gets if wanted == "bytes=300-"]
    assert (resumed, None) in hub.gets  # the file whose first GET was cut (files come in parallel)
    assert dataset.splits["train"] == 30


def test_a_file_that_does_not_match_its_checksum_is_refused(hub: StandInHub) -> None:
    hub.corrupt.add("data/test-00000-of-00001.parquet")
    with pytest.raises(FetchError, match="does not match the hub's listing"):
        get_dataset("items_lite")
    hub.corrupt.clear()
    assert get_dataset("items_lite").splits["test"] == 8  # fetched again, whole


def test_a_gated_dataset_needs_a_token_which_only_the_hub_sees(
    hub: StandInHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FetchError, match="someone/gated_items is gated.*HF_TOKEN"):
        get_dataset("someone/gated_items")
    monkeypatch.setenv("HF_TOKEN", hub.token)
    assert get_dataset("someone/gated_items").splits["test"] == 8  # the CDN got no token


def test_offline_reads_the_cache_or_says_in_one_line_what_to_do(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    go_offline(monkeypatch)
    with pytest.raises(FetchError) as caught:
        get_dataset("items_lite")
    message = str(caught.value)
    assert "\n" not in message and "HF_HUB_OFFLINE" in message
    assert "pricebench data get items_lite" in message and hub.pages == []
    go_online(monkeypatch)
    get_dataset("items_lite", directory=tmp_path / "online")
    go_offline(monkeypatch)
    hub.pages.clear()
    hub.gets.clear()
    offline = get_dataset("items_lite", directory=tmp_path / "offline")
    assert offline.splits == {"train": 30, "validation": 5, "test": 8}
    assert hub.pages == [] and hub.gets == []


def test_an_unreachable_hub_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_hub(monkeypatch, "http://127.0.0.1:9", tmp_path)  # nothing listens there
    with pytest.raises(FetchError, match="cannot reach 127.0.0.1.*HF_HUB_OFFLINE=1"):
        get_dataset("items_lite")


def test_an_unknown_dataset_and_a_corrupt_file_are_clear_errors(hub: StandInHub) -> None:
    with pytest.raises(FetchError, match="no_such_dataset not found.*set HF_TOKEN"):
        get_dataset("no_such_dataset")
    hub.repos["ed-donner/items_lite"]["main"]["data/test-00000-of-00001.parquet"] = b"PAR1 junk"
    with pytest.raises(DataError, match="not a readable parquet file"):
        get_dataset("items_lite")


def test_data_names_resolve_only_once_fetched(hub: StandInHub, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="pricebench data get items_lite"):
        resolve_dataset("items_lite")
    existing = tmp_path / "mine.jsonl"
    existing.write_text("")
    assert resolve_dataset(existing) == existing
    get_dataset("items_lite")
    assert resolve_dataset("items_lite").name == "items.jsonl"
    assert resolve_dataset("ed-donner/items_lite") == resolve_dataset("items_lite")


def test_cli_get_then_run_on_the_course_test_set(
    hub: StandInHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "get", "items_lite", "--no-progress"]) == 0
    shown = capsys.readouterr().out
    assert "30 train, 5 validation, 8 test" in shown
    out = tmp_path / "runs"
    assert main(["run", "constant", "--data", "items_lite", "--out", str(out)]) == 0
    capsys.readouterr()
    records = (out / "constant" / "items.jsonl").read_text().splitlines()
    fetched = load_dataset(get_dataset("items_lite").path).test
    assert sorted(json.loads(line)["id"] for line in records) == sorted(i.id for i in fetched)
    header = json.loads((out / "constant" / "run.json").read_text())
    assert get_dataset("items_lite").test_fingerprint in json.dumps(header)
    assert main(["run", "constant", "--data", "items_full", "--out", str(out)]) == 2
    assert "pricebench data get items_full" in capsys.readouterr().err


def test_leaderboard_shows_course_figures_beside_runs_on_the_course_test_items(
    hub: StandInHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lite = hub.repos["ed-donner/items_lite"]["main"]
    lite["data/test-00000-of-00001.parquet"] = _parquet(_items_rows("test", 210, 200))
    assert main(["data", "get", "items_lite", "--no-progress"]) == 0
    runs = tmp_path / "runs"
    for size in ("200", "150"):  # the course's 200 items, and fewer
        out = runs / size
        command = ["run", "constant", "--data", "items_lite", "--size", size, "--out", str(out)]
        assert main(command) == 0
    capsys.readouterr()
    both = [str(runs / "200"), str(runs / "150")]
    assert main(["leaderboard", *both, "--reference"]) == 0
    shown = capsys.readouterr().out.replace("\n", " ")
    same = "Course 2025 edition, published on these same items (the first 200 test items of"
    assert shown.count(same) == 1
    # right after the 200-item board, before the 150-item one; the 2024 figures stay apart
    at_200, at_150 = shown.index(": 200 items"), shown.index(": 150 items")
    assert at_200 < shown.index(same) < at_150 or at_150 < at_200 < shown.index(same)
    assert "Course 2025 edition: published by the course on its own data, NOT measured" not in shown
    assert "Course 2024 edition: published by the course on its own data, NOT measured" in shown
    assert main(["leaderboard", *both]) == 0  # without --reference: no course figures
    assert "Course 20" not in capsys.readouterr().out


def test_course_figures_stay_apart_for_any_other_items(
    hub: StandInHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pricebench.compare.reference import same_data_board

    lite = hub.repos["ed-donner/items_lite"]["main"]
    lite["data/test-00000-of-00001.parquet"] = _parquet(_items_rows("test", 210, 200))
    dataset = get_dataset("items_lite")
    firsts = json.loads(dataset.path.with_name("source.json").read_text())
    label = f"{dataset.path}#test"
    assert same_data_board(label, firsts["first_test_fingerprints"]["200"], 200) is not None
    # other test items of the same dataset, the course's items under another name, or the
    # validation split: not the items the course measured on
    assert same_data_board(label, dataset.test_fingerprint, 200) is None
    assert same_data_board(label, firsts["first_test_fingerprints"]["200"], 250) is None
    renamed = str(tmp_path / "mine" / "items.jsonl#test")
    assert same_data_board(renamed, firsts["first_test_fingerprints"]["200"], 200) is None
    assert same_data_board(f"{dataset.path}#validation", dataset.test_fingerprint, 200) is None
    # a dataset fetched before the first test items' fingerprints were recorded: worked out once
    info = json.loads(dataset.path.with_name("source.json").read_text())
    del info["first_test_fingerprints"]
    dataset.path.with_name("source.json").write_text(json.dumps(info))
    assert same_data_board(label, firsts["first_test_fingerprints"]["200"], 200) is not None
    again = json.loads(dataset.path.with_name("source.json").read_text())
    assert again["first_test_fingerprints"] == firsts["first_test_fingerprints"]


def test_a_run_on_the_first_250_pricer_data_test_items_is_the_2024_edition(
    hub: StandInHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pricebench.compare.reference import same_data_board

    converted = hub.repos["ed-donner/pricer-data"]["refs/convert/parquet"]
    converted["default/partial-test/0000.parquet"] = _parquet(_pricer_rows("test", 260))
    out = tmp_path / "runs"
    command = ["run", "constant", "--data", "pricer-data", "--size", "250", "--out", str(out)]
    assert main(["data", "get", "pricer-data", "--no-progress"]) == 0
    assert main(command) == 0
    capsys.readouterr()
    header = json.loads((out / "constant" / "run.json").read_text())
    found = same_data_board(header["dataset"], header["fingerprint"], header["n_items"])
    assert found is not None
    board, repo = found
    assert (board.edition, board.n, repo) == ("2024", 250, "ed-donner/pricer-data")


def test_cli_get_offline_is_one_line_and_exit_status_2(
    hub: StandInHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    go_offline(monkeypatch)
    assert main(["data", "get", "items_lite", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HF_HUB_OFFLINE" in err and hub.pages == []


def test_ids_are_unique_across_the_shards_and_splits_of_a_dataset(
    hub: StandInHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two shards of train holding the same rows (as items_lite's shards repeat an item): the
    same rebuilt id at the same row number of each file. With ids that the source gave, the same
    one in train and test."""
    same = _parquet(_items_rows("train", 4, 0))
    own_ids = [{**row, "id": "B000REPEAT"} for row in _items_rows("test", 2, 0)]
    hub.repos["someone/sharded"] = {
        "main": {
            "data/train-00000-of-00002.parquet": same,
            "data/train-00001-of-00002.parquet": same,
            "data/test-00000-of-00001.parquet": _parquet(own_ids),
            "data/validation-00000-of-00001.parquet": _parquet(own_ids[:1]),
        }
    }
    dataset = get_dataset("someone/sharded")
    assert dataset.splits == {"train": 8, "validation": 1, "test": 2}
    data = load_dataset(dataset.path)  # refuses a repeated id
    ids = [item.id for item in (*data.train, *data.validation, *data.test)]
    assert len(set(ids)) == len(ids) == 11
    assert [item.id for item in data.train[4:]] == [
        f"{data.train[n].id}~train{n + 5}" for n in range(4)
    ]  # the row's number within its split, counted across both shards
    assert "~" not in data.train[0].id
    assert data.validation[0].id == "B000REPEAT"
    assert [item.id for item in data.test] == ["B000REPEAT~test1", "B000REPEAT~test2"]
    out = tmp_path / "runs"
    command = ["run", "constant", "--data", "someone/sharded", "--out", str(out)]
    assert main(command) == 0  # a run reads it


def _two_shards(hub: StandInHub) -> None:
    hub.repos["someone/sharded"] = {
        "main": {
            "data/train-00000-of-00002.parquet": _parquet(_items_rows("train", 4, 0)),
            "data/train-00001-of-00002.parquet": _parquet(_items_rows("train", 4, 10)),
            "data/test-00000-of-00001.parquet": _parquet(_items_rows("test", 3, 20)),
        }
    }


def _cached(name: str) -> Path:
    """A file of someone/sharded's cached snapshot (the link to its blob)."""
    import os

    folder = Path(os.environ["HF_HUB_CACHE"]) / "datasets--someone--sharded" / "snapshots"
    (found,) = folder.glob(f"*/{name}")
    return found


def test_offline_a_snapshot_lacking_a_shard_is_refused_in_one_line(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a cache where `datasets` or an interrupted fetch left one shard of two: converting half
    of train and saying nothing would be a silent partial dataset."""
    _two_shards(hub)
    get_dataset("someone/sharded", directory=tmp_path / "online")
    _cached("data/train-00001-of-00002.parquet").unlink()
    go_offline(monkeypatch)
    with pytest.raises(FetchError) as caught:
        get_dataset("someone/sharded", directory=tmp_path / "offline")
    message = str(caught.value)
    assert "\n" not in message and "lacks data/train-00001-of-00002.parquet" in message
    assert "pricebench data get someone/sharded" in message
    assert not (tmp_path / "offline" / "someone" / "sharded" / "items.jsonl").exists()


def test_offline_a_corrupted_cached_file_is_refused(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_shards(hub)
    get_dataset("someone/sharded", directory=tmp_path / "online")
    blob = _cached("data/test-00000-of-00001.parquet").resolve()
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1  # the same size, one bit changed
    blob.write_bytes(bytes(data))
    go_offline(monkeypatch)
    with pytest.raises(FetchError, match=r"does not match its listed SHA-256.*--force") as caught:
        get_dataset("someone/sharded", directory=tmp_path / "offline")
    assert "\n" not in str(caught.value)
    go_online(monkeypatch)
    again = get_dataset("someone/sharded", directory=tmp_path / "offline", force=True)
    assert again.splits == {"train": 8, "test": 3}  # downloaded again, whole


def test_every_file_comes_from_the_commit_the_first_answer_names(
    hub: StandInHub, tmp_path: Path
) -> None:
    """A push lands while the files download: a fetch by branch name would mix the two versions;
    pinned to the commit that `repo_info` named first, every listing and file is that commit's,
    and source.json records it."""
    from tests.hub_standin import commit_of

    _two_shards(hub)
    before = dict(hub.repos["someone/sharded"]["main"])
    pushed = {
        "data/train-00000-of-00002.parquet": _parquet(_items_rows("train", 6, 0)),
        "data/train-00001-of-00002.parquet": _parquet(_items_rows("train", 7, 0)),
        "data/test-00000-of-00001.parquet": _parquet(_items_rows("test", 5, 0)),
    }  # each file with more rows than before
    hub.after_get.append(lambda: hub.push("someone/sharded", "main", pushed))
    dataset = get_dataset("someone/sharded", directory=tmp_path)
    assert hub.repos["someone/sharded"]["main"] == pushed  # the push happened mid-fetch
    assert dataset.splits == {"train": 8, "test": 3}  # all of the first version
    info = json.loads(dataset.path.with_name("source.json").read_text())
    commit = commit_of(before)
    assert (info["revision"], info["commit"]) == ("main", commit)
    assert [f["sha256"] for f in info["files"]] == [
        hashlib.sha256(before[name]).hexdigest()
        for name in (
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "data/test-00000-of-00001.parquet",
        )
    ]
    first, *rest = [asked for asked in hub.requests if "someone/sharded" in asked]
    assert first.endswith("/revision/main")  # the one question asked by branch name
    assert rest and all(commit in asked for asked in rest)


def test_offline_the_cached_listing_names_what_a_snapshot_lacks(
    hub: StandInHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The converted branch's files have no `-of-N` in their names: the listing that
    snapshot_download cached for the commit says what the snapshot must hold."""
    import os

    get_dataset("pricer-data", directory=tmp_path / "online")
    folder = Path(os.environ["HF_HUB_CACHE"]) / "datasets--ed-donner--pricer-data" / "snapshots"
    (test_file,) = folder.glob("*/default/partial-test/0000.parquet")
    test_file.unlink()
    go_offline(monkeypatch)
    with pytest.raises(FetchError, match="lacks default/partial-test/0000.parquet") as caught:
        get_dataset("pricer-data", directory=tmp_path / "offline")
    assert "\n" not in str(caught.value)
