"""`pricebench data get`: the course's hub datasets, from a stand-in hub on 127.0.0.1.

The stand-in serves what the real hub serves for a dataset repository: the tree API listing
(`/api/datasets/OWNER/NAME/tree/REVISION/PATH?recursive=true`, with each file's LFS size and
SHA-256), files under `/datasets/OWNER/NAME/resolve/REVISION/PATH` with Range support and the
SHA-256 as ETag, `data/<split>-00000-of-00001.parquet` on main (what `push_to_hub` writes) and
`default/<split>/0000.parquet` on `refs/convert/parquet` (the hub's conversion).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pricebench import load_dataset
from pricebench.cli import main
from pricebench.errors import DataError
from pricebench.pipeline.fetch import FetchError
from pricebench.pipeline.hub import get_dataset, resolve_dataset

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def _items_rows(split: str, n: int, start: int) -> list[dict]:
    return [
        {
            "title": f"Widget {split} {i}",
            "category": "Toys_and_Games",
            "price": 10.0 + i,
            "full": f"Widget {split} {i}\nA full text about widget {i}.",
            "weight": 1.5 if i % 2 else None,
            "summary": f"Title: Widget {i}\nCategory: Toys\nDescription: a widget, {split}.",
            "prompt": None,
            "id": start + i,
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


class StandInHub:
    """Repositories: {repo: {revision: {path: bytes}}}."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, dict[str, bytes]]] = {
            "ed-donner/items_lite": {
                "main": {
                    "README.md": b"# items_lite",
                    "data/train-00000-of-00001.parquet": _parquet(_items_rows("train", 30, 0)),
                    "data/validation-00000-of-00001.parquet": _parquet(
                        _items_rows("validation", 5, 100)
                    ),
                    "data/test-00000-of-00001.parquet": _parquet(_items_rows("test", 8, 200)),
                }
            },
            "ed-donner/pricer-data": {
                "refs/convert/parquet": {
                    "default/train/0000.parquet": _parquet(_pricer_rows("train", 20)),
                    "default/test/0000.parquet": _parquet(_pricer_rows("test", 6)),
                }
            },
        }
        self.gets: list[tuple[str, str | None]] = []  # (path, Range)
        self.cut_next: int | None = None  # bytes after which the next file GET is cut

    def handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                url = urlsplit(self.path)
                tree = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)/?(.*)", url.path)
                resolve = re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", url.path)
                if tree:
                    repo, revision, folder = tree.group(1), unquote(tree.group(2)), tree.group(3)
                    files = hub.repos.get(repo, {}).get(revision)
                    listed = [
                        {"type": "file", "path": path, "size": len(data),
                         "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}}
                        for path, data in (files or {}).items()
                        if path.startswith(folder)
                    ]  # fmt: skip
                    if files is None or not listed:
                        return self._send(404, b'{"error": "not found"}', body)
                    return self._send(200, json.dumps(listed).encode(), body)
                if resolve:
                    repo, revision, path = resolve.groups()
                    data = hub.repos.get(repo, {}).get(unquote(revision), {}).get(path)
                    if data is None:
                        return self._send(404, b"Entry not found", body)
                    wanted = self.headers.get("Range")
                    if body:
                        hub.gets.append((path, wanted))
                    start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1)) if wanted else 0
                    headers = {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
                    if start:
                        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                    part = data[start:]
                    if body and hub.cut_next is not None:
                        cut, hub.cut_next = hub.cut_next, None
                        self.send_response(206 if start else 200)
                        self.send_header("Content-Length", str(len(part)))
                        self.end_headers()
                        self.wfile.write(part[:cut])
                        self.wfile.flush()
                        self.close_connection = True
                        return None
                    return self._send(206 if start else 200, part, body, headers)
                return self._send(404, b"no route", body)

            def _send(
                self, code: int, data: bytes, body: bool, headers: dict | None = None
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if body:
                    self.wfile.write(data)

        return Handler


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInHub]:
    stand_in = StandInHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), stand_in.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield stand_in
    server.shutdown()
    server.server_close()


def test_items_lite_keeps_its_three_splits_and_the_course_text(hub: StandInHub) -> None:
    dataset = get_dataset("items_lite")
    assert dataset.repo == "ed-donner/items_lite"
    assert dataset.splits == {"train": 30, "validation": 5, "test": 8}
    data = load_dataset(dataset.path)
    assert (len(data.train), len(data.validation), len(data.test)) == (30, 5, 8)
    first = data.test[0]
    assert first.id == "200" and first.price == 10.0 and first.category == "Toys_and_Games"
    assert first.text.startswith("Title: Widget 0")  # the summary the course priced from
    assert data.train[1].extras["weight_lb"] == 1.5
    assert data.fingerprint == dataset.test_fingerprint
    assert {path for path, _ in hub.gets} == {
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
    }  # not the README


def test_pricer_data_from_the_converted_branch_loses_its_prompt_wrapping(hub: StandInHub) -> None:
    dataset = get_dataset("pricer-data")
    data = load_dataset(dataset.path)
    assert (len(data.train), len(data.test)) == (20, 6)
    item = data.test[2]
    assert item.text == "Gadget test 2\nSome text about gadget 2."
    assert item.title == "Gadget test 2" and item.price == 22.49


def test_a_second_get_uses_the_cache_and_a_cut_download_resumes(
    hub: StandInHub, tmp_path: Path
) -> None:
    hub.cut_next = 300
    with pytest.raises(FetchError, match="run the same command again"):
        _get_without_retries(tmp_path)
    hub.gets.clear()
    dataset = get_dataset("items_lite", directory=tmp_path)
    assert ("data/train-00000-of-00001.parquet", "bytes=300-") in hub.gets
    assert dataset.splits["test"] == 8
    hub.gets.clear()
    again = get_dataset("items_lite", directory=tmp_path)
    assert again.cached and hub.gets == []


def _get_without_retries(directory: Path) -> None:
    from pricebench.pipeline import hub as hub_module

    original = hub_module.download_file

    def once(*args: object, **kwargs: object) -> object:
        return original(*args, **{**kwargs, "retries": 0})

    hub_module.download_file = once
    try:
        get_dataset("items_lite", directory=directory)
    finally:
        hub_module.download_file = original


def test_an_unknown_dataset_and_a_corrupt_file_are_clear_errors(hub: StandInHub) -> None:
    with pytest.raises(FetchError, match="no parquet files"):
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
    assert sorted(json.loads(line)["id"] for line in records) == [str(200 + i) for i in range(8)]
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
    converted["default/test/0000.parquet"] = _parquet(_pricer_rows("test", 260))
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
