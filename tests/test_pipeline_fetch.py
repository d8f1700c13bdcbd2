"""Downloading raw category files through huggingface_hub's `hf_hub_download`, from the stand-in
hub (tests/hub_standin.py) holding the real sample file where the dataset keeps its raw files:
`resolve/` answers with a 302 to another host carrying the file's size and SHA-256
(X-Linked-Size / X-Linked-Etag) and the commit (X-Repo-Commit); the other host honours Range."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricebench.cli import main
from pricebench.pipeline.fetch import REPOSITORY, FetchError, fetch, hub_url
from tests.conftest import RAW_SAMPLE
from tests.hub_standin import StandInHub, go_offline, serve, use_hub

BODY = RAW_SAMPLE.read_bytes()
SHA = hashlib.sha256(BODY).hexdigest()
HEALTH = "raw/meta_categories/meta_Health_and_Personal_Care.jsonl"
APPLIANCES = "raw/meta_categories/meta_Appliances.jsonl"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StandInHub]:
    files = {"README.md": b"# Amazon Reviews 2023", HEALTH: BODY, APPLIANCES: BODY[:5000]}
    stand_in = StandInHub({REPOSITORY: {"main": files}})
    for url in serve(stand_in):
        use_hub(monkeypatch, url, tmp_path / "hf-cache")
        yield stand_in


def test_hub_url_has_the_dataset_repository_shape() -> None:
    assert hub_url("Appliances", endpoint="https://huggingface.co") == (
        "https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023/resolve/main/"
        "raw/meta_categories/meta_Appliances.jsonl"
    )
    with pytest.raises(FetchError, match="not a category name"):
        hub_url("../etc/passwd")


def test_fetch_goes_where_hf_endpoint_points_and_lands_in_the_hugging_face_cache(
    hub: StandInHub, tmp_path: Path
) -> None:
    download = fetch("Health_and_Personal_Care")
    assert download.path.read_bytes() == BODY
    assert (download.size, download.sha256, download.cached) == (len(BODY), SHA, False)
    assert any(HEALTH in asked for asked in hub.requests)  # the stand-in, not huggingface.co
    assert download.url.startswith("http://127.0.0.1:") and download.url.endswith(HEALTH)
    cache = tmp_path / "hf-cache" / "datasets--McAuley-Lab--Amazon-Reviews-2023"
    assert download.path.is_relative_to(cache / "snapshots")
    assert (cache / "blobs" / SHA).is_file()  # stored under the SHA-256 the hub announced
    hub.gets.clear()
    again = fetch("Health_and_Personal_Care")
    assert again.cached and again.path == download.path and hub.gets == []
    forced = fetch("Health_and_Personal_Care", force=True)
    assert not forced.cached and [path for path, _ in hub.gets] == [HEALTH]


def test_a_cut_download_is_resumed_with_a_range_request(
    hub: StandInHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub resumes within the call from the whole chunks it wrote."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    hub.cut_next = 4 * 64 * 1024 + 1_000
    download = fetch("Health_and_Personal_Care")
    assert download.path.read_bytes() == BODY and download.sha256 == SHA
    assert hub.gets == [(HEALTH, None), (HEALTH, f"bytes={4 * 64 * 1024}-")]


def test_a_checksum_mismatch_is_refused_and_the_bad_file_removed(hub: StandInHub) -> None:
    hub.corrupt.add(HEALTH)
    with pytest.raises(FetchError, match="SHA-256 .* does not match the hub's") as caught:
        fetch("Health_and_Personal_Care")
    assert "\n" not in str(caught.value)
    hub.corrupt.clear()
    assert fetch("Health_and_Personal_Care").sha256 == SHA  # downloaded again, whole


def test_offline_the_cache_serves_and_a_missing_file_is_one_line(
    hub: StandInHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch("Health_and_Personal_Care")
    go_offline(monkeypatch)
    hub.requests.clear()
    assert fetch("Health_and_Personal_Care").cached and hub.requests == []
    with pytest.raises(FetchError) as caught:
        fetch("Appliances")
    message = str(caught.value)
    assert "\n" not in message and hub.requests == []
    assert "HF_HUB_OFFLINE is set and meta_Appliances.jsonl is not in the Hugging Face cache" in (
        message
    )
    assert "pricebench data fetch --category Appliances" in message


def test_unknown_category_and_refused_access_are_clear(
    hub: StandInHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="no such file for category 'Nope' .known: All_Beauty"):
        fetch("Nope")
    hub.gated.add(REPOSITORY)
    with pytest.raises(FetchError, match="gated.*set HF_TOKEN"):
        fetch("Appliances")
    monkeypatch.setenv("HF_TOKEN", hub.token)
    download = fetch("Appliances")  # the token went to the hub; the other host refuses one
    assert download.path.read_bytes() == BODY[:5000]
    for path in (tmp_path / "hf-cache").rglob("*"):
        if path.is_file():
            assert hub.token.encode() not in path.read_bytes()  # never written


def test_an_unreachable_hub_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_hub(monkeypatch, "http://127.0.0.1:9", tmp_path)  # nothing listens there
    with pytest.raises(FetchError, match="cannot reach 127.0.0.1 .* are you offline") as caught:
        fetch("Appliances")
    assert "\n" not in str(caught.value)


def test_cli_fetch_reports_the_downloaded_then_the_cached_file(
    hub: StandInHub, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "fetch", "--category", "Health_and_Personal_Care", "--no-progress"]
    assert main(argv) == 0
    shown = capsys.readouterr().out
    assert "downloaded:" in shown and SHA in shown
    assert main(argv) == 0
    assert "cached:" in capsys.readouterr().out
    assert main(["data", "fetch", "--category", "Nope", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such file for category 'Nope'" in err
