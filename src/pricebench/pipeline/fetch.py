"""Downloading Amazon Reviews 2023 item metadata straight from the Hugging Face hub, with httpx.

No `datasets` needed: the raw files are plain JSONL in the dataset repository. Downloads stream to
`<file>.part` and resume from where they stopped (HTTP Range), are checked against the size and
SHA-256 the hub announces, and land in a cache directory. A token (for gated mirrors) comes from
the `token` argument or the HF_TOKEN environment variable and is only ever sent, never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import platformdirs
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pricebench.errors import DataError

HUB = "https://huggingface.co"
REPOSITORY = "McAuley-Lab/Amazon-Reviews-2023"
# The eight categories the course priced (see `KNOWN_CATEGORIES` for all of them).
COURSE_CATEGORIES = (
    "Automotive",
    "Electronics",
    "Office_Products",
    "Tools_and_Home_Improvement",
    "Cell_Phones_and_Accessories",
    "Toys_and_Games",
    "Appliances",
    "Musical_Instruments",
)
KNOWN_CATEGORIES = (
    "All_Beauty", "Amazon_Fashion", "Appliances", "Arts_Crafts_and_Sewing", "Automotive",
    "Baby_Products", "Beauty_and_Personal_Care", "Books", "CDs_and_Vinyl",
    "Cell_Phones_and_Accessories", "Clothing_Shoes_and_Jewelry", "Digital_Music", "Electronics",
    "Gift_Cards", "Grocery_and_Gourmet_Food", "Handmade_Products", "Health_and_Household",
    "Health_and_Personal_Care", "Home_and_Kitchen", "Industrial_and_Scientific", "Kindle_Store",
    "Magazine_Subscriptions", "Movies_and_TV", "Musical_Instruments", "Office_Products",
    "Patio_Lawn_and_Garden", "Pet_Supplies", "Software", "Sports_and_Outdoors",
    "Subscription_Boxes", "Tools_and_Home_Improvement", "Toys_and_Games", "Video_Games", "Unknown",
)  # fmt: skip
CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


class FetchError(DataError):
    """A download that could not be done or checked; the message says what to do."""


@dataclass(frozen=True)
class Download:
    """A raw file in the cache, and what the hub said about it."""

    path: Path
    url: str
    size: int
    sha256: str
    resumed_from: int = 0  # bytes already there when this download started (0: a fresh one)
    cached: bool = False  # True when no byte was downloaded


def default_cache_dir() -> Path:
    """$PRICEBENCH_DOWNLOADS, else the user's cache directory (platformdirs)."""
    override = os.environ.get("PRICEBENCH_DOWNLOADS")
    if override:
        return Path(override).expanduser() / "amazon-reviews-2023"
    return Path(platformdirs.user_cache_dir("pricebench")) / "amazon-reviews-2023"


def hub_url(category: str, *, endpoint: str = HUB, revision: str = "main") -> str:
    """The raw item-metadata file of one category, e.g. `meta_Appliances.jsonl`."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z_]*", category):
        raise FetchError(f"not a category name: {category!r} (e.g. {', '.join(COURSE_CATEGORIES)})")
    return (
        f"{endpoint.rstrip('/')}/datasets/{REPOSITORY}/resolve/{revision}"
        f"/raw/meta_categories/meta_{category}.jsonl"
    )


def fetch(
    category: str,
    *,
    cache_dir: str | Path | None = None,
    client: httpx.Client | None = None,
    endpoint: str = HUB,
    revision: str = "main",
    token: str | None = None,
    retries: int = 3,
    force: bool = False,
    progress: bool = False,
) -> Download:
    """The raw JSONL of `category`, downloaded into the cache unless it is there already.

    An interrupted download (cut connection, Ctrl-C) leaves `<file>.part`; the next call (or the
    next of `retries` automatic tries) asks only for the missing bytes. `client` lets tests and
    proxies inject their own `httpx.Client`.
    """
    url = hub_url(category, endpoint=endpoint, revision=revision)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = directory / revision / f"meta_{category}.jsonl"
    hint = "" if category in KNOWN_CATEGORIES else f" (known: {', '.join(KNOWN_CATEGORIES)})"
    return download_file(
        url,
        target,
        client=client,
        token=token,
        retries=retries,
        force=force,
        progress=progress,
        not_found=f"no such file for category {category!r}{hint}",
    )


def download_file(
    url: str,
    target: Path,
    *,
    client: httpx.Client | None = None,
    token: str | None = None,
    retries: int = 3,
    force: bool = False,
    progress: bool = False,
    not_found: str = "no such file",
) -> Download:
    """Download `url` to `target` (resumable through `<target>.part`, checked against the size
    and SHA-256 the hub announces), unless a checked copy is there already. `not_found` is what a
    404 means, for the error message."""
    sidecar = target.with_name(target.name + ".json")
    if not force and target.is_file() and sidecar.is_file():
        known = json.loads(sidecar.read_text())
        if known.get("size") == target.stat().st_size:
            return Download(target, url, known["size"], known["sha256"], cached=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = token or os.environ.get("HF_TOKEN") or None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    own_client = client is None
    if client is None:
        client = httpx.Client(timeout=httpx.Timeout(30.0, read=120.0))
    try:
        size, expected_sha = _announced(client, url, headers, not_found)
        part = target.with_name(target.name + ".part")
        if force and part.exists():
            part.unlink()
        digest, resumed_from = _download(
            client, url, headers, part, size, retries, progress, target.name, not_found
        )
    finally:
        if own_client:
            client.close()
    if size is not None and part.stat().st_size != size:
        raise FetchError(
            f"{url}: got {part.stat().st_size:,} bytes, the hub announced {size:,}; "
            f"run again to resume"
        )
    if expected_sha is not None and digest != expected_sha:
        part.unlink()
        raise FetchError(
            f"{url}: SHA-256 {digest[:12]}... does not match the hub's {expected_sha[:12]}...; "
            "the partial file was deleted, run again to download it afresh"
        )
    part.replace(target)
    result = Download(target, url, target.stat().st_size, digest, resumed_from)
    sidecar.write_text(
        json.dumps({k: str(v) if k == "path" else v for k, v in asdict(result).items()})
    )
    return result


def _announced(
    client: httpx.Client, url: str, headers: dict[str, str], not_found: str
) -> tuple[int | None, str | None]:
    """(size, sha256) from a HEAD: the hub sends them as X-Linked-Size / X-Linked-Etag on the
    redirect to its storage for large (LFS) files, and as Content-Length / ETag otherwise."""
    response = _send(
        client, "HEAD", url, {**headers, "Accept-Encoding": "identity"}, redirects=False
    )
    _raise_for_status(response, url, not_found)
    direct = response.status_code == 200  # a redirect's own length and tag are not the file's
    size = response.headers.get("X-Linked-Size") or (
        response.headers.get("Content-Length") if direct else None
    )
    etag = (response.headers.get("X-Linked-Etag") or "").strip()
    if not etag and direct:
        etag = response.headers.get("ETag", "")
    etag = etag.removeprefix("W/").strip('"').lower()
    return (int(size) if size and size.isdigit() else None), (
        etag if _SHA256.fullmatch(etag) else None
    )


def _download(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    part: Path,
    size: int | None,
    retries: int,
    show_progress: bool,
    label: str,
    not_found: str,
) -> tuple[str, int]:
    """Fill `part` up to `size` bytes, resuming what is there; return the file's SHA-256 and the
    bytes kept from before (0 when the server made the download start over)."""
    digest = hashlib.sha256()
    have = 0
    if part.exists():
        if size is not None and part.stat().st_size > size:
            part.unlink()  # not a prefix of this file
        else:
            with open(part, "rb") as handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
                    have += len(block)
    resumed_from = have
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    with Progress(*columns, console=console, disable=not show_progress) as bar:
        task = bar.add_task(label, total=size, completed=have)
        attempt = 0
        while size is None or have < size:
            # identity: byte offsets must count file bytes, not compressed ones
            ranged = {**headers, "Accept-Encoding": "identity"}
            if have:
                ranged["Range"] = f"bytes={have}-"
            try:
                with client.stream("GET", url, headers=ranged, follow_redirects=True) as response:
                    if response.status_code == 416 and size is not None and have >= size:
                        break  # nothing left to send: the file is complete
                    if response.status_code == 416:  # the part is no prefix of the file: restart
                        digest, have, resumed_from = hashlib.sha256(), 0, 0
                        part.write_bytes(b"")
                        continue
                    _raise_for_status(response, url, not_found)
                    if have and response.status_code != 206:  # Range ignored or refused: restart
                        digest, have, resumed_from = hashlib.sha256(), 0, 0
                        part.write_bytes(b"")
                        bar.update(task, completed=0)
                    with open(part, "ab") as sink:
                        for block in response.iter_bytes():  # written as it comes
                            sink.write(block)
                            digest.update(block)
                            have += len(block)
                            bar.update(task, completed=have)
                if size is None:
                    break
                if have < size:  # the server ended early without an error
                    raise httpx.RemoteProtocolError("response ended early")
            except httpx.TransportError as error:
                attempt += 1
                if attempt > retries:
                    if have == 0 and isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                        raise FetchError(
                            f"cannot reach {httpx.URL(url).host} ({error}): are you offline? "
                            f"Put the file at {part.with_suffix('')} or use a local raw file"
                        ) from None
                    raise FetchError(
                        f"{url}: download cut at {have:,} of "
                        f"{f'{size:,}' if size is not None else '?'} bytes ({error}); "
                        "run the same command again to resume"
                    ) from None
    return digest.hexdigest(), resumed_from


def _send(
    client: httpx.Client, method: str, url: str, headers: dict[str, str], *, redirects: bool
) -> httpx.Response:
    try:
        return client.request(method, url, headers=headers, follow_redirects=redirects)
    except httpx.TransportError as error:
        raise FetchError(
            f"cannot reach {httpx.URL(url).host} ({error}): are you offline? "
            "Run again when online, or curate a local raw file instead"
        ) from None


def _raise_for_status(response: httpx.Response, url: str, not_found: str) -> None:
    code = response.status_code
    if code < 400:
        return
    if code in (401, 403):
        raise FetchError(
            f"{url}: HTTP {code}: access refused; set HF_TOKEN to a token that may read it"
        )
    if code == 404:
        raise FetchError(f"{url}: HTTP 404: {not_found}")
    raise FetchError(f"{url}: HTTP {code} from the server; run again later")
