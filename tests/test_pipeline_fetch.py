"""Downloading raw category files: served from the real sample file through httpx.MockTransport,
answering as the hub does (a HEAD or GET on `resolve/` redirects to storage, with the file's size
and SHA-256 in X-Linked-Size / X-Linked-Etag; storage honours Range)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pricebench.pipeline.fetch import FetchError, default_cache_dir, fetch, hub_url

RAW_SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "meta_Health_and_Personal_Care.sample.jsonl"
)
BODY = RAW_SAMPLE.read_bytes()
SHA = hashlib.sha256(BODY).hexdigest()
STORAGE = "https://cas-bridge.example.org/blob/meta_Health_and_Personal_Care.jsonl"


class _CutStream(httpx.SyncByteStream):
    """A body that stops with a transport error after `limit` bytes, like a dropped connection."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit = data, limit

    def __iter__(self) -> Iterator[bytes]:
        step = 64 * 1024
        for start in range(0, self.limit, step):
            yield self.data[start : min(start + step, self.limit)]
        raise httpx.ReadError("connection reset by peer")


@dataclass
class Hub:
    body: bytes = BODY
    sha: str = SHA
    cut_at: list[int] = field(default_factory=list)  # one entry per GET to cut, in order
    honour_range: bool = True
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if "huggingface.co" in url:
            if not url.endswith(
                "/resolve/main/raw/meta_categories/meta_Health_and_Personal_Care.jsonl"
            ):
                return httpx.Response(404, text="Entry not found")
            headers = {
                "Location": STORAGE,
                "X-Linked-Size": str(len(self.body)),
                "X-Linked-Etag": f'"{self.sha}"',
                "X-Repo-Commit": "0" * 40,
            }
            return httpx.Response(302, headers=headers)
        assert url == STORAGE
        start = 0
        status = 200
        wanted = request.headers.get("Range")
        if wanted and self.honour_range:
            match = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert match, wanted
            start = int(match.group(1))
            if start >= len(self.body):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(self.body)}"})
            status = 206
        data = self.body[start:]
        headers = {"Content-Length": str(len(data)), "Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(self.body) - 1}/{len(self.body)}"
        if self.cut_at:
            return httpx.Response(
                status, headers=headers, stream=_CutStream(data, self.cut_at.pop(0))
            )
        return httpx.Response(status, headers=headers, content=data)


def _client(hub: Hub) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(hub))


def _get_ranges(hub: Hub) -> list[str | None]:
    return [
        r.headers.get("Range")
        for r in hub.requests
        if r.method == "GET" and "example" in str(r.url)
    ]


def test_hub_url_has_the_dataset_repository_shape() -> None:
    assert hub_url("Appliances") == (
        "https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023/resolve/main/"
        "raw/meta_categories/meta_Appliances.jsonl"
    )
    with pytest.raises(FetchError, match="not a category name"):
        hub_url("../etc/passwd")


def test_fetch_downloads_checks_and_caches(tmp_path: Path) -> None:
    hub = Hub()
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert download.path.read_bytes() == BODY
    assert (download.size, download.sha256, download.cached) == (len(BODY), SHA, False)
    assert not list(tmp_path.rglob("*.part"))
    hub.requests.clear()
    again = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert again.cached and again.path == download.path
    assert hub.requests == []  # served from the cache without asking the hub


def test_a_cut_connection_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    half = len(BODY) // 2
    hub = Hub(cut_at=[half])
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert download.path.read_bytes() == BODY
    assert download.sha256 == SHA
    assert _get_ranges(hub) == [None, f"bytes={half}-"]


def test_a_cut_download_without_retries_fails_clearly_and_the_next_run_resumes(
    tmp_path: Path,
) -> None:
    cut = 1_000_003
    hub = Hub(cut_at=[cut])
    with pytest.raises(FetchError, match=r"cut at 1,000,003 of .* run the same command again"):
        fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub), retries=0)
    (part,) = tmp_path.rglob("*.part")
    assert part.stat().st_size == cut
    hub.requests.clear()
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert download.resumed_from == cut
    assert _get_ranges(hub) == [f"bytes={cut}-"]
    assert download.path.read_bytes() == BODY


def test_a_restart_after_an_ignored_range_reports_no_resumed_bytes(tmp_path: Path) -> None:
    hub = Hub(cut_at=[700_001])
    with pytest.raises(FetchError):
        fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub), retries=0)
    hub.honour_range = False  # the next run asks for the rest and gets the whole file again
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert download.resumed_from == 0
    assert download.path.read_bytes() == BODY


def test_a_server_ignoring_range_restarts_the_file_cleanly(tmp_path: Path) -> None:
    hub = Hub(cut_at=[500_000], honour_range=False)
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert download.path.read_bytes() == BODY  # not the first half twice


def test_a_checksum_mismatch_is_refused_and_the_bad_file_removed(tmp_path: Path) -> None:
    hub = Hub(sha="0" * 64)
    with pytest.raises(FetchError, match="SHA-256 .* does not match"):
        fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    assert not list(tmp_path.rglob("*.jsonl*"))


def test_a_short_file_is_refused_on_size(tmp_path: Path) -> None:
    hub = Hub(body=BODY[:1000], sha=hashlib.sha256(BODY[:1000]).hexdigest())
    hub_size = len(BODY)

    def liar(request: httpx.Request) -> httpx.Response:
        response = hub(request)
        if response.status_code == 302:  # announces the full size, sends 1000 bytes
            response.headers["X-Linked-Size"] = str(hub_size)
        return response

    client = httpx.Client(transport=httpx.MockTransport(liar))
    with pytest.raises(FetchError, match="run the same command again"):
        fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=client, retries=1)


def test_unknown_category_and_refused_access_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404: no such file for category 'Nope'"):
        fetch("Nope", cache_dir=tmp_path, client=_client(Hub()))
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401)))
    with pytest.raises(FetchError, match="set HF_TOKEN"):
        fetch("Appliances", cache_dir=tmp_path, client=client)


def test_offline_is_one_clear_error(tmp_path: Path) -> None:
    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution")

    client = httpx.Client(transport=httpx.MockTransport(offline))
    with pytest.raises(FetchError, match="cannot reach huggingface.co .* are you offline"):
        fetch("Appliances", cache_dir=tmp_path, client=client)


def test_the_token_comes_from_the_environment_and_is_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    hub = Hub()
    download = fetch("Health_and_Personal_Care", cache_dir=tmp_path, client=_client(hub))
    hub_calls = [r for r in hub.requests if "huggingface.co" in str(r.url)]
    assert hub_calls and all(
        r.headers["Authorization"] == "Bearer hf_secret_token_123" for r in hub_calls
    )
    # httpx drops the header on the redirect to another host: storage never sees the token
    assert all("Authorization" not in r.headers for r in hub.requests if "example" in str(r.url))
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != download.path:
            assert "hf_secret" not in path.read_text()
    sidecar = json.loads(download.path.with_name(download.path.name + ".json").read_text())
    assert sidecar["sha256"] == SHA


def test_default_cache_dir_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRICEBENCH_DOWNLOADS", str(tmp_path))
    assert default_cache_dir() == tmp_path / "amazon-reviews-2023"
    monkeypatch.delenv("PRICEBENCH_DOWNLOADS")
    assert "pricebench" in str(default_cache_dir())


def test_cli_fetch_reports_the_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import functools

    from pricebench.cli import data as data_cli

    hub = Hub()
    monkeypatch.setattr(data_cli, "fetch", functools.partial(fetch, client=_client(hub)))
    parser = argparse.ArgumentParser(prog="pricebench")
    data_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    argv = ["data", "fetch", "--category", "Health_and_Personal_Care", "--cache-dir", str(tmp_path)]
    args = parser.parse_args([*argv, "--no-progress"])
    assert args.func(args) == 0
    shown = capsys.readouterr().out
    assert "downloaded:" in shown and SHA in shown
    args = parser.parse_args([*argv, "--no-progress"])
    assert args.func(args) == 0
    assert "cached:" in capsys.readouterr().out
