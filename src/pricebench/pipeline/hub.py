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
from urllib.parse import quote

import httpx

from pricebench.compare.reference import course_test_sizes
from pricebench.errors import DataError
from pricebench.items import Item, fingerprint
from pricebench.pipeline.fetch import HUB, FetchError, download_file
from pricebench.pipeline.fetched import FIRST_TEST_FINGERPRINTS, datasets_dir, first_fingerprints
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
_CONVERTED_FILE = re.compile(r"[^/]+/(?P<split>[A-Za-z_]+)/(?:partial-)?[^/]*\.parquet")
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
    client: httpx.Client | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    force: bool = False,
    progress: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> HubDataset:
    """Fetch the hub dataset `name` (`items_lite` or `owner/name`) and convert it to
    `<directory>/<owner>/<name>/items.jsonl`; a converted copy is reused unless `force`.
    `endpoint` defaults to $HF_ENDPOINT (a hub mirror), else huggingface.co."""
    repo = repo_id(name)
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or HUB
    home = Path(directory) if directory is not None else datasets_dir()
    out = home / repo / "items.jsonl"
    info_path = out.with_name("source.json")
    if not force and out.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("items_sha256") == file_sha256(out):
            return HubDataset(repo, out, info["splits"], info["test_fingerprint"], cached=True)
    own_client = client is None
    if client is None:
        client = httpx.Client(timeout=httpx.Timeout(30.0, read=120.0))
    try:
        revision, files = _list_parquet(client, endpoint, repo, token)
        downloads = []
        for path, split in files:
            branch = quote(revision, safe="")
            url = f"{endpoint.rstrip('/')}/datasets/{repo}/resolve/{branch}/{path}"
            target = home / repo / "files" / revision.replace("/", "_") / path
            download = download_file(
                url,
                target,
                client=client,
                token=token,
                force=force,
                progress=progress,
                not_found=f"no such file in dataset {repo}",
            )
            how = "cached" if download.cached else "downloaded"
            say(f"{how}: {path} ({download.size:,} bytes)")
            downloads.append((download, split))
    finally:
        if own_client:
            client.close()
    splits, test_fingerprint, firsts = _convert(
        [(d.path, split) for d, split in downloads], out, repo
    )
    info = {
        "repo": repo,
        "revision": revision,
        "files": [
            {"path": str(d.path), "url": d.url, "size": d.size, "sha256": d.sha256, "split": s}
            for d, s in downloads
        ],
        "splits": splits,
        "test_fingerprint": test_fingerprint,
        FIRST_TEST_FINGERPRINTS: firsts,
        "items_sha256": file_sha256(out),
    }
    info_path.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    say(f"saved {sum(splits.values()):,} items to {out} ({splits})")
    return HubDataset(repo, out, splits, test_fingerprint)


def _list_parquet(
    client: httpx.Client, endpoint: str, repo: str, token: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """(revision, [(file path, split)]) of the dataset's parquet files, in split then name order."""
    token = token or os.environ.get("HF_TOKEN") or None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for revision, folder, pattern in (
        ("main", "data", _DATA_FILE),
        (CONVERTED_BRANCH, "", _CONVERTED_FILE),
    ):
        url = f"{endpoint.rstrip('/')}/api/datasets/{repo}/tree/{quote(revision, safe='')}"
        url += f"/{folder}" if folder else ""
        try:
            response = client.get(url, params={"recursive": "true"}, headers=headers)
        except httpx.TransportError as error:
            raise FetchError(
                f"cannot reach {httpx.URL(url).host} ({error}): are you offline? A dataset "
                "fetched before is used without the network"
            ) from None
        if response.status_code in (401, 403):
            raise FetchError(f"{url}: HTTP {response.status_code}: set HF_TOKEN to read {repo}")
        if response.status_code == 404:
            continue
        if response.status_code >= 400:
            raise FetchError(f"{url}: HTTP {response.status_code} from the hub; run again later")
        found = []
        for entry in response.json():
            match = pattern.fullmatch(entry.get("path", ""))
            if entry.get("type") == "file" and match:
                found.append((entry["path"], match.group("split")))
        if found:
            order = {"train": 0, "validation": 1, "test": 2}
            found.sort(key=lambda pair: (order.get(pair[1], 3), pair[1], pair[0]))
            return revision, found
    raise FetchError(
        f"dataset {repo}: no parquet files on the hub (looked in data/ on main and in "
        f"{CONVERTED_BRANCH}); known course datasets: {', '.join(COURSE_DATASETS)}"
    )


def _convert(
    files: list[tuple[Path, str]], out: Path, repo: str
) -> tuple[dict[str, int], str, dict[str, str]]:
    """Every row of the parquet `files` as pricebench JSONL; (split counts, test fingerprint,
    fingerprints of the first N test items for each N of `COURSE_TEST_SIZES`)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "reading the hub's parquet files needs pyarrow: pip install 'pricebench[parquet]'"
        ) from None
    counts: Counter[str] = Counter()
    test: list[Item] = []
    seen: set[str] = set()
    partial = out.with_name(out.name + ".part")
    with open(partial, "w", encoding="utf-8") as sink:
        for path, split in files:
            split = "validation" if split in ("valid", "val", "dev") else split
            try:
                batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
                rows: Iterator[dict[str, Any]] = (
                    row for batch in batches for row in batch.to_pylist()
                )
                for number, row in enumerate(rows, start=1):
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
