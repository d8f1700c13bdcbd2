"""Downloading Amazon Reviews 2023 item metadata from the Hugging Face hub with huggingface_hub.

No `datasets` needed: the raw files are plain JSONL in the dataset repository. Each one comes
through `hf_hub_download`, so `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_TOKEN` (else a saved login) and
the Hugging Face cache (`$HF_HUB_CACHE`, `$HF_HOME`) behave as everywhere else in the ecosystem:
a cached file is not downloaded again, a cut download is resumed by huggingface_hub, and the token
goes to the hub only. The file is then checked against the SHA-256 the hub announced for it (its
LFS blob is stored under that name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pricebench.errors import DataError
from pricebench.pipeline.store import file_sha256

REPOSITORY = "McAuley-Lab/Amazon-Reviews-2023"
# The eight categories the course priced, in the order the course loaded them (see
# `KNOWN_CATEGORIES` for all of them).
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
_SHA256 = re.compile(r"[0-9a-f]{64}")


class FetchError(DataError):
    """A download that could not be done or checked; the message says what to do."""


@dataclass(frozen=True)
class Download:
    """A raw file in the Hugging Face cache, and what the hub said about it."""

    path: Path
    url: str
    size: int
    sha256: str
    cached: bool = False  # True when no byte was downloaded


def raw_path(category: str) -> str:
    """The raw item-metadata file of one category in the dataset repository."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z_]*", category):
        raise FetchError(f"not a category name: {category!r} (e.g. {', '.join(COURSE_CATEGORIES)})")
    return f"raw/meta_categories/meta_{category}.jsonl"


def hub_url(category: str, *, endpoint: str | None = None, revision: str = "main") -> str:
    """The URL of a category's raw file, e.g. `.../resolve/main/raw/meta_categories/
    meta_Appliances.jsonl` (`endpoint`: default $HF_ENDPOINT, else huggingface.co)."""
    from huggingface_hub import hf_hub_url

    return hf_hub_url(
        REPOSITORY, raw_path(category), repo_type="dataset", revision=revision, endpoint=endpoint
    )


def fetch(
    category: str,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    revision: str = "main",
    token: str | None = None,
    force: bool = False,
    progress: bool = False,
) -> Download:
    """The raw JSONL of `category`, through `hf_hub_download` (the Hugging Face cache, or
    `cache_dir`), checked against the SHA-256 the hub announced for it.

    `endpoint`, `token` and the offline mode default to huggingface_hub's own ($HF_ENDPOINT,
    $HF_TOKEN or a saved login, $HF_HUB_OFFLINE); `force` downloads the file again.
    """
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    filename = raw_path(category)
    url = hub_url(category, endpoint=endpoint, revision=revision)
    where: dict[str, Any] = {"repo_type": "dataset", "revision": revision, "cache_dir": cache_dir}
    before = try_to_load_from_cache(REPOSITORY, filename, **where)
    try:
        local = Path(
            hf_hub_download(
                REPOSITORY,
                filename,
                endpoint=endpoint,
                token=token,
                force_download=force,
                tqdm_class=None if progress else silent_bar(),
                **where,
            )
        )
    except (HfHubHTTPError, EntryNotFoundError) as error:
        raise _fetch_error(error, category, endpoint or constants.ENDPOINT, token) from None
    except transport_errors() as error:
        raise _fetch_error(error, category, endpoint or constants.ENDPOINT, token) from None
    blob = local.resolve()
    # the blob of an LFS file is named by its SHA-256: what the hub announced (X-Linked-Etag)
    expected = blob.name if _SHA256.fullmatch(blob.name) else None
    digest = file_sha256(local)
    if expected is not None and digest != expected:
        blob.unlink(missing_ok=True)  # the next fetch downloads it again
        raise FetchError(
            f"{url}: SHA-256 {digest[:12]}... does not match the hub's {expected[:12]}...; the "
            "file was deleted, run again to download it afresh"
        )
    cached = isinstance(before, str) and Path(before).resolve() == blob and not force
    return Download(local, url, local.stat().st_size, digest, cached=cached)


def _fetch_error(
    error: BaseException, category: str, endpoint: str, token: str | None
) -> FetchError:
    """One line saying what failed and what to do, for an error of `hf_hub_download`."""
    from huggingface_hub import constants, get_token
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    name = f"meta_{category}.jsonl"
    if isinstance(error, LocalEntryNotFoundError):  # not cached, and the hub was not asked
        cause = error.__cause__
        if constants.is_offline_mode():
            return FetchError(
                f"HF_HUB_OFFLINE is set and {name} is not in the Hugging Face cache: run "
                f"`pricebench data fetch --category {category}` once with the network, or curate "
                "a local raw file (data build --raw FILE)"
            )
        return FetchError(
            f"cannot reach {_host(endpoint)} ({type(cause or error).__name__}): are you offline? "
            "With HF_HUB_OFFLINE=1 the Hugging Face cache is read without the network, or curate "
            "a local raw file (data build --raw FILE)"
        )
    if isinstance(error, GatedRepoError):
        return FetchError(
            f"{REPOSITORY} is gated: accept its terms on the hub, then set HF_TOKEN to a token of "
            "that account"
        )
    if isinstance(error, RepositoryNotFoundError):
        hint = "" if token or get_token() else " (or private: set HF_TOKEN)"
        return FetchError(f"{REPOSITORY} not found on {endpoint}{hint}")
    if isinstance(error, EntryNotFoundError):
        known = "" if category in KNOWN_CATEGORIES else f" (known: {', '.join(KNOWN_CATEGORIES)})"
        return FetchError(f"{REPOSITORY}: no such file for category {category!r}{known}")
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "?"
        if status in (401, 403):
            return FetchError(
                f"{endpoint}: HTTP {status} for {name}: access refused; set HF_TOKEN to a token "
                "that may read it"
            )
        return FetchError(f"{endpoint}: HTTP {status} for {name}; run again later")
    return FetchError(f"{name}: download cut ({type(error).__name__}); run the same command again")


def transport_errors() -> tuple[type[BaseException], ...]:
    """What a network failure raises: OSError, httpx's and httpx2's (huggingface_hub's HTTP
    client) transport errors."""
    try:
        import httpx2
    except ImportError:
        return (OSError, httpx.TransportError)
    return (OSError, httpx.TransportError, httpx2.TransportError)


def _host(endpoint: str) -> str:
    return httpx.URL(endpoint).host


def silent_bar() -> Any:
    """A tqdm class that shows nothing (`--no-progress`)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    class Silent(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent
