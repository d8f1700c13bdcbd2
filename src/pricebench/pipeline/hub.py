"""The course's published datasets, fetched from the hub's parquet files and saved as items.

    pricebench data get items_lite          # ed-donner/items_lite: train / validation / test
    pricebench run knn --data items_lite    # exactly the course's test set

The files are listed with the hub's tree API: the `data/<split>-NNNNN-of-NNNNN.parquet` files that
`push_to_hub` writes, else the `refs/convert/parquet` branch the hub converts every dataset into
(`default/<split>/NNNN.parquet`). Each is downloaded like a raw category file (resumable, checked
against the hub's size and SHA-256, cached), then read in record batches (pyarrow, extra
`parquet`) and written as pricebench JSONL with each row's split kept, at flat memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pricebench.compare.reference import course_test_sizes
from pricebench.errors import DataError
from pricebench.items import Item, fingerprint
from pricebench.pipeline.fetch import HUB, FetchError
from pricebench.pipeline.fetched import (
    FIRST_TEST_FINGERPRINTS,
    datasets_dir,
    first_fingerprints,
    hf_hub_cache,
)
from pricebench.pipeline.store import file_sha256

OWNER = "ed-donner"
# The course's datasets: short name -> what it holds.
COURSE_DATASETS = {
    "items_lite": "2025: 20,000 train / 1,000 validation / 1,000 test items (title, full, summary)",
    "items_full": "2025: 800,000 train / 10,000 validation / 10,000 test items, same columns",
    "items_prompts_lite": "2025: items_lite as fine-tuning prompts and completions",
    "items_prompts_full": "2025: items_full as fine-tuning prompts and completions",
    "pricer-data": "2024: 400,000 train / 2,000 test fine-tuning prompts with their prices",
}
CONVERTED_BRANCH = "refs/convert/parquet"
_DATA_FILE = re.compile(r"data/(?P<split>[A-Za-z_]+)-\d+-of-\d+\.parquet")
# `default/train/0000.parquet`, or `default/partial-train/0000.parquet` when only the first few
# GB were converted
_CONVERTED_FILE = re.compile(r"default/(?:partial-)?(?P<split>[A-Za-z_]+)/[^/]*\.parquet")
# The course's prompts: a question first and "Price is $" last (2024 and 2025 wordings)
_QUESTION = re.compile(r"\A\s*(?:How much does this cost[^\n]*|What does this cost[^\n]*)\n+")
_PRICE_LINE = re.compile(r"\n*\s*Price is \$[\d,]*(?:\.\d+)?\s*\Z")
BATCH_ROWS = 5_000
# source.json: {"200": fingerprint of the first 200 test items, ...}, for the course's sizes


@dataclass(frozen=True)
class HubDataset:
    """A hub dataset converted to pricebench JSONL."""

    repo: str
    path: Path  # items.jsonl
    splits: dict[str, int]
    test_fingerprint: str
    cached: bool = False


def repo_id(name: str) -> str:
    """`items_lite` -> `ed-donner/items_lite`; an `owner/name` is taken as it is."""
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        return name
    if re.fullmatch(r"[\w.-]+", name):
        return f"{OWNER}/{name}"
    raise DataError(f"not a dataset name: {name!r} (e.g. {', '.join(COURSE_DATASETS)})")


def dataset_path(name: str, directory: Path | None = None) -> Path:
    return (directory or datasets_dir()) / repo_id(name) / "items.jsonl"


def resolve_dataset(name_or_path: str | Path, directory: Path | None = None) -> Path:
    """A data file path as given when it exists, else the items of a dataset fetched with
    `pricebench data get NAME`; an error that says how to get it otherwise."""
    path = Path(name_or_path)
    if path.exists():
        return path
    text = str(name_or_path)
    if not re.fullmatch(r"[\w.-]+(?:/[\w.-]+)?", text) or path.suffix in (".jsonl", ".csv", ".gz"):
        return path  # a path that does not exist: the loader says so
    fetched = dataset_path(text, directory)
    if fetched.is_file():
        return fetched
    raise DataError(
        f"{text}: no such file, and no dataset {repo_id(text)} fetched yet: run "
        f"`pricebench data get {text}` first (known: {', '.join(COURSE_DATASETS)})"
    )


def get_dataset(
    name: str,
    *,
    directory: str | Path | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> HubDataset:
    """Fetch the hub dataset `name` (`items_lite` or `owner/name`) and convert it to
    `<directory>/<owner>/<name>/items.jsonl`; a converted copy is reused unless `force`.

    Through `huggingface_hub`: the listing (paginated), the downloads (the Hugging Face cache,
    `cache_dir` or $HF_HUB_CACHE / $HF_HOME, so files that `datasets.load_dataset` fetched before
    are not fetched again; resumed when cut), `endpoint` (default $HF_ENDPOINT, else
    huggingface.co), `token` (default $HF_TOKEN, else a saved login). Each file is checked against
    the size and SHA-256 the listing gives. With $HF_HUB_OFFLINE set, only the cache is read."""
    repo = repo_id(name)
    home = Path(directory) if directory is not None else datasets_dir()
    out = home / repo / "items.jsonl"
    info_path = out.with_name("source.json")
    if not force and out.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("items_sha256") == file_sha256(out):
            return HubDataset(repo, out, info["splits"], info["test_fingerprint"], cached=True)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or HUB).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    cache = Path(cache_dir) if cache_dir is not None else hf_hub_cache()
    _hub_client()
    if hub_offline():
        revision, files = _cached_parquet(repo, cache, name)
        say(f"HF_HUB_OFFLINE: {repo} read from the Hugging Face cache ({revision})")
    else:
        revision, listed = _list_parquet(repo, endpoint, token)
        files = [
            (_download(repo, revision, entry, endpoint, token, cache, force, progress, say), split)
            for entry, split in listed
        ]
    if revision == CONVERTED_BRANCH and any("/partial-" in str(path) for path, _ in files):
        say(f"{repo}: the hub's parquet conversion is partial (it converts the first few GB only)")
    splits, test_fingerprint, firsts, rebuilt = _convert(files, out, repo)
    if rebuilt:
        say(
            f"{repo}: {rebuilt:,} rows have no id (the course pushed none): ids rebuilt from each "
            "row's split and text ('h' + 15 hex digits), the same on every fetch"
        )
    info = {
        "repo": repo,
        "revision": revision,
        "endpoint": endpoint,
        "files": [
            {
                "path": str(path),
                "size": path.stat().st_size,
                "sha256": file_sha256(path),
                "split": split,
            }
            for path, split in files
        ],  # fmt: skip
        "splits": splits,
        "ids_rebuilt": rebuilt,
        "test_fingerprint": test_fingerprint,
        FIRST_TEST_FINGERPRINTS: firsts,
        "items_sha256": file_sha256(out),
    }
    info_path.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    say(f"saved {sum(splits.values()):,} items to {out} ({splits})")
    return HubDataset(repo, out, splits, test_fingerprint)


def hub_offline() -> bool:
    """$HF_HUB_OFFLINE as huggingface_hub reads it (1, true, yes, on), read now."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _list_parquet(repo: str, endpoint: str, token: str | None) -> tuple[str, list[tuple[Any, str]]]:
    """(revision, [(listed file, split)]) of the dataset's parquet files, in split then name
    order: `data/` on main (what `push_to_hub` writes), else the hub's conversion branch."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    api = HfApi(endpoint=endpoint, token=token)
    for revision, folder, pattern in (
        ("main", "data", _DATA_FILE),
        (CONVERTED_BRANCH, None, _CONVERTED_FILE),
    ):
        try:
            entries = list(
                api.list_repo_tree(
                    repo, folder, recursive=True, revision=revision, repo_type="dataset"
                )
            )
        except GatedRepoError:
            raise FetchError(
                f"dataset {repo} is gated: accept its terms on the hub, then set HF_TOKEN to a "
                "token of that account"
            ) from None
        except RepositoryNotFoundError:
            hint = "" if token else " (or private: set HF_TOKEN)"
            raise FetchError(
                f"dataset {repo} not found on {endpoint}{hint}; known course datasets: "
                f"{', '.join(COURSE_DATASETS)}"
            ) from None
        except (RevisionNotFoundError, RemoteEntryNotFoundError):
            continue
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else "?"
            raise FetchError(f"{endpoint}: HTTP {status} listing {repo}; run again later") from None
        except _transport_errors() as error:
            raise FetchError(_unreachable(endpoint, error)) from None
        found = []
        for entry in entries:
            match = pattern.fullmatch(getattr(entry, "path", ""))
            if match and hasattr(entry, "size"):  # a file, not a folder
                found.append((entry, match.group("split")))
        if found:
            order = {"train": 0, "validation": 1, "test": 2}
            found.sort(key=lambda pair: (order.get(pair[1], 3), pair[1], pair[0].path))
            return revision, found
    raise FetchError(
        f"dataset {repo}: no parquet files on the hub (looked in data/ on main and in "
        f"{CONVERTED_BRANCH}); known course datasets: {', '.join(COURSE_DATASETS)}"
    )


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a network failure raises: OSError, httpx's and httpx2's (huggingface_hub's HTTP
    client) transport errors."""
    try:
        import httpx2
    except ImportError:
        return (OSError, httpx.TransportError)
    return (OSError, httpx.TransportError, httpx2.TransportError)


def _unreachable(endpoint: str, error: BaseException) -> str:
    return (
        f"cannot reach {httpx.URL(endpoint).host} ({type(error).__name__}): are you offline? "
        "With HF_HUB_OFFLINE=1, datasets already in the Hugging Face cache are read without "
        "the network"
    )


def _download(
    repo: str,
    revision: str,
    entry: Any,
    endpoint: str,
    token: str | None,
    cache: Path,
    force: bool,
    progress: bool,
    say: Callable[[str], None],
) -> Path:
    """One listed file through `hf_hub_download` (the HF cache; resumed), checked against the
    listing's size and, for LFS files, SHA-256."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        local = Path(
            hf_hub_download(
                repo,
                entry.path,
                repo_type="dataset",
                revision=revision,
                cache_dir=cache,
                token=token,
                endpoint=endpoint,
                force_download=force,
                tqdm_class=None if progress else _silent_bar(),
            )
        )
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise FetchError(f"{repo}/{entry.path}: HTTP {status} from the hub; run again") from None
    except _transport_errors() as error:
        raise FetchError(
            f"{repo}/{entry.path}: download cut ({type(error).__name__}); run the same command "
            "again: it resumes where it stopped"
        ) from None
    size = local.stat().st_size
    lfs = getattr(entry, "lfs", None)
    expected_sha = lfs.sha256 if lfs is not None else None
    if size != entry.size or (expected_sha and file_sha256(local) != expected_sha):
        local.resolve().unlink(missing_ok=True)  # the blob: a new fetch downloads it again
        raise FetchError(
            f"{repo}/{entry.path}: the downloaded file does not match the hub's listing (size "
            f"{size:,} vs {entry.size:,}, or SHA-256); deleted, run again"
        )
    say(f"{local.name} ({size:,} bytes, {'sha256 checked' if expected_sha else 'size checked'})")
    return local


def _silent_bar() -> type:
    """A tqdm class that shows nothing (`--no-progress`)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    class Silent(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent


def _hub_client() -> None:
    """Raise the extra's install line when huggingface_hub is missing; bound its reads."""
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise DataError(
            "fetching the course's datasets needs huggingface_hub and pyarrow: "
            "pip install 'pricebench[parquet]'"
        ) from None
    _bound_hub_reads()


def _bound_hub_reads() -> None:
    """huggingface_hub's HTTP client waits for an answer forever where a call names no timeout
    (the listing passes `timeout=None`): a hub that took the connection and never answered hung
    `data get`. A request hook gives such calls the timeout huggingface_hub gives downloads
    ($HF_HUB_DOWNLOAD_TIMEOUT, 10 s; with its retries a dead hub fails in about a minute and a
    half). A client factory set by the user is left alone."""
    from huggingface_hub import constants, set_client_factory
    from huggingface_hub.utils import _http

    if getattr(_http, "_GLOBAL_CLIENT_FACTORY", None) is not _http.default_client_factory:
        return

    def fill(request: Any) -> None:
        given = request.extensions.get("timeout") or {}
        limit = constants.HF_HUB_DOWNLOAD_TIMEOUT
        request.extensions["timeout"] = {
            phase: limit if given.get(phase) is None else given[phase]
            for phase in ("connect", "read", "write", "pool")
        }

    def bounded() -> Any:
        client = _http.default_client_factory()
        hooks = client.event_hooks
        client.event_hooks = {**hooks, "request": [*hooks.get("request", []), fill]}
        return client

    set_client_factory(bounded)


def _cached_parquet(repo: str, cache: Path, name: str) -> tuple[str, list[tuple[Path, str]]]:
    """(revision, [(file, split)]) of the dataset's parquet files in the Hugging Face cache."""
    folder = cache / ("datasets--" + repo.replace("/", "--"))
    for revision, pattern in (("main", _DATA_FILE), (CONVERTED_BRANCH, _CONVERTED_FILE)):
        ref = folder / "refs" / revision
        if not ref.is_file():
            continue
        snapshot = folder / "snapshots" / ref.read_text().strip()
        found = []
        for path in sorted(snapshot.rglob("*.parquet")):
            match = pattern.fullmatch(path.relative_to(snapshot).as_posix())
            if match:
                found.append((path, match.group("split")))
        if found:
            order = {"train": 0, "validation": 1, "test": 2}
            found.sort(key=lambda pair: (order.get(pair[1], 3), pair[1], str(pair[0])))
            return revision, found
    raise FetchError(
        f"HF_HUB_OFFLINE is set and {repo} is not in the Hugging Face cache ({cache}): run "
        f"`pricebench data get {name}` once with the network (HF_HUB_OFFLINE unset)"
    )


def _convert(
    files: list[tuple[Path, str]], out: Path, repo: str
) -> tuple[dict[str, int], str, dict[str, str], int]:
    """Every row of the parquet `files` as pricebench JSONL; (split counts, test fingerprint,
    fingerprints of the first N test items for each N of `COURSE_TEST_SIZES`, rows whose id was
    rebuilt)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "reading the hub's parquet files needs pyarrow: pip install 'pricebench[parquet]'"
        ) from None
    counts: Counter[str] = Counter()
    test: list[Item] = []
    seen: set[str] = set()
    rebuilt = 0
    partial = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "w", encoding="utf-8") as sink:
        for path, split in files:
            split = "validation" if split in ("valid", "val", "dev") else split
            try:
                batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
                rows: Iterator[dict[str, Any]] = (
                    row for batch in batches for row in batch.to_pylist()
                )
                for number, row in enumerate(rows, start=1):
                    rebuilt += row.get("id") is None
                    item = hub_row_item(row, split, f"{path.name}:{number}", repo)
                    if item["id"] in seen:  # ids must be unique in a pricebench file
                        item["id"] += f"~{split}{number}"
                    seen.add(item["id"])
                    counts[split] += 1
                    if split == "test":
                        test.append(Item(id=item["id"], title="-", text="-", price=item["price"]))
                    sink.write(json.dumps(item, ensure_ascii=False) + "\n")
            except (OSError, ValueError) as error:
                if isinstance(error, DataError):
                    raise
                raise DataError(f"{path}: not a readable parquet file ({error})") from None
    partial.replace(out)
    return (
        dict(counts),
        fingerprint(test) if test else "",
        first_fingerprints(test, course_test_sizes()),
        rebuilt,
    )


def hub_row_item(row: dict[str, Any], split: str, where: str, repo: str) -> dict[str, Any]:
    """One row of a course dataset as a pricebench JSONL object.

    items_*: `title`, `category`, `price`, `summary` (the LLM-written text the 2025 course priced
    from), `full` (the curated text), `weight`, `id`. pricer-data and items_prompts_*: a prompt
    (`text`, or `prompt` + `completion`) whose question and "Price is $" line are taken off.
    """
    price = row.get("price")
    if price is None and row.get("completion") is not None:
        price = _number(str(row["completion"]))
    text = row.get("summary") or row.get("full")
    if not text:
        prompt = row.get("text") or row.get("prompt") or ""
        text = _PRICE_LINE.sub("", _QUESTION.sub("", str(prompt))).strip()
    if price is None and row.get("text"):
        found = re.search(r"Price is \$([\d,]*(?:\.\d+)?)\s*\Z", str(row["text"]))
        price = _number(found.group(1)) if found else None
    if price is None or not isinstance(price, int | float) or not text:
        raise DataError(f"{where}: a row of {repo} without a price or a text ({sorted(row)})")
    title = row.get("title") or str(text).strip().split("\n", 1)[0][:200]
    row_id = row.get("id")
    if row_id is None:
        row_id = "h" + hashlib.sha1(f"{split}\t{text}".encode()).hexdigest()[:15]
    item: dict[str, Any] = {
        "id": str(row_id),
        "title": str(title),
        "text": str(text),
        "price": float(price),
        "category": row.get("category") or None,
        "split": split,
    }
    if isinstance(row.get("weight"), int | float) and row["weight"]:
        item["weight_lb"] = float(row["weight"])
    return item


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").strip())
    except ValueError:
        return None
