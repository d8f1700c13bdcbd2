"""The course's published datasets, fetched from the hub's parquet files and saved as items.

    pricebench data get items_lite          # ed-donner/items_lite: train / validation / test
    pricebench run knn --data items_lite    # exactly the course's test set

The files come through huggingface_hub's `snapshot_download`, pinned to the commit that the hub
names for the branch: the `data/<split>-NNNNN-of-NNNNN.parquet` files that `push_to_hub` writes on
main, else the `refs/convert/parquet` branch the hub converts every dataset into
(`default/<split>/NNNN.parquet`). They land in the Hugging Face cache, are checked against the
commit's listing (sizes, SHA-256; a snapshot lacking a listed file is refused), then read in record
batches (pyarrow, extra `parquet`) and written as pricebench JSONL with each row's split kept, at
flat memory.
"""

from __future__ import annotations

import hashlib
import json
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
from pricebench.pipeline.fetch import FetchError, silent_bar, transport_errors
from pricebench.pipeline.fetched import (
    FIRST_TEST_FINGERPRINTS,
    datasets_dir,
    first_fingerprints,
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

    Through `huggingface_hub`'s `snapshot_download`: the commit the hub names for the branch,
    then that commit's listing and files (the Hugging Face cache, `cache_dir` or $HF_HUB_CACHE /
    $HF_HOME, so files that `datasets.load_dataset` fetched before are not fetched again; resumed
    when cut), `endpoint` (default $HF_ENDPOINT, else huggingface.co), `token` (default
    $HF_TOKEN, else a saved login). Each file is checked against the size and SHA-256 the listing
    gives; `source.json` records the branch and the commit. With $HF_HUB_OFFLINE set, only the
    cache is read, and a snapshot lacking a listed file is refused."""
    from huggingface_hub import constants  # imported when needed: it takes a while

    _bound_hub_reads()
    repo = repo_id(name)
    home = Path(directory) if directory is not None else datasets_dir()
    out = home / repo / "items.jsonl"
    info_path = out.with_name("source.json")
    if not force and out.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("items_sha256") == file_sha256(out):
            return HubDataset(repo, out, info["splits"], info["test_fingerprint"], cached=True)
    # huggingface_hub's own settings, read from the environment when it was imported
    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    cache = Path(cache_dir if cache_dir is not None else constants.HF_HUB_CACHE)
    offline = constants.is_offline_mode()
    revision, commit, files = _snapshot(
        repo, name, endpoint, token, cache, force=force, progress=progress, offline=offline
    )
    # (online, huggingface_hub also falls back on the cache when the hub cannot be reached)
    note = " (HF_HUB_OFFLINE: the hub was not asked)" if offline else ""
    say(f"{repo}: {revision} at commit {commit}, {len(files)} parquet files checked{note}")
    if revision == CONVERTED_BRANCH and any("/partial-" in str(path) for path, _, _ in files):
        say(f"{repo}: the hub's parquet conversion is partial (it converts the first few GB only)")
    splits, test_fingerprint, firsts, rebuilt = _convert(
        [(p, split) for p, split, _ in files], out, repo
    )
    if rebuilt:
        say(
            f"{repo}: {rebuilt:,} rows have no id (the course pushed none): ids rebuilt from each "
            "row's split and text ('h' + 15 hex digits), the same on every fetch"
        )
    info = {
        "repo": repo,
        "revision": revision,
        "commit": commit,  # every file is this commit's, whatever was pushed meanwhile
        "endpoint": endpoint,
        "files": [
            {"path": str(path), "size": path.stat().st_size, "sha256": sha, "split": split}
            for path, split, sha in files
        ],
        "splits": splits,
        "ids_rebuilt": rebuilt,
        "test_fingerprint": test_fingerprint,
        FIRST_TEST_FINGERPRINTS: firsts,
        "items_sha256": file_sha256(out),
    }
    info_path.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    say(f"saved {sum(splits.values()):,} items to {out} ({splits})")
    return HubDataset(repo, out, splits, test_fingerprint)


def _unreachable(endpoint: str, error: BaseException) -> str:
    return (
        f"cannot reach {httpx.URL(endpoint).host} ({type(error).__name__}): are you offline? "
        "With HF_HUB_OFFLINE=1, datasets already in the Hugging Face cache are read without "
        "the network"
    )


# Where a dataset's parquet files are: what `push_to_hub` writes on main, else the hub's conversion
_SOURCES = (
    ("main", _DATA_FILE, "data/*.parquet"),
    (CONVERTED_BRANCH, _CONVERTED_FILE, "default/*"),
)
Files = list[tuple[Path, str, str]]  # (file in the snapshot, split, SHA-256)


def _snapshot(
    repo: str,
    name: str,
    endpoint: str,
    token: str | None,
    cache: Path,
    *,
    force: bool,
    progress: bool,
    offline: bool,
) -> tuple[str, str, Files]:
    """(revision, commit, files) of the dataset's parquet files, through `snapshot_download`
    (`token` None: huggingface_hub's own, $HF_TOKEN or a saved login):
    online, the commit that `repo_info` names for the branch and every listing and file of that
    commit (so a push in between mixes nothing); offline, the cached snapshot. Files in split
    then name order, each checked (`_checked_files`)."""
    from huggingface_hub import get_token, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    for revision, pattern, allow in _SOURCES:
        try:
            folder = Path(
                snapshot_download(
                    repo,
                    repo_type="dataset",
                    revision=revision,
                    cache_dir=cache,
                    endpoint=endpoint,
                    token=token,
                    local_files_only=offline,
                    allow_patterns=allow,
                    force_download=force and not offline,
                    tqdm_class=None if progress else silent_bar(),
                )
            )
        except IncompleteSnapshotError as error:  # the files that are there are checked below
            folder = Path(error.snapshot_path)
        except RevisionNotFoundError:
            continue
        except LocalEntryNotFoundError as error:  # neither the hub nor the cache has it
            if offline:
                continue
            cause = error.__cause__
            if isinstance(cause, HfHubHTTPError) and cause.response is not None:
                status = cause.response.status_code
                raise FetchError(f"{endpoint}: HTTP {status} for {repo}; run again later") from None
            raise FetchError(_unreachable(endpoint, cause or error)) from None
        except GatedRepoError:
            raise FetchError(
                f"dataset {repo} is gated: accept its terms on the hub, then set HF_TOKEN to a "
                "token of that account"
            ) from None
        except RepositoryNotFoundError:
            hint = "" if token or get_token() else " (or private: set HF_TOKEN)"
            raise FetchError(
                f"dataset {repo} not found on {endpoint}{hint}; known course datasets: "
                f"{', '.join(COURSE_DATASETS)}"
            ) from None
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else "?"
            raise FetchError(f"{repo}: HTTP {status} from the hub; run again later") from None
        except transport_errors() as error:
            raise FetchError(
                f"{repo}: download cut ({type(error).__name__}); run the same command again: it "
                "resumes where it stopped"
            ) from None
        files = _checked_files(repo, name, folder, pattern, cache, offline)
        if files:
            return revision, folder.name, files
    if offline:
        raise FetchError(
            f"HF_HUB_OFFLINE is set and {repo} is not in the Hugging Face cache ({cache}): run "
            f"`pricebench data get {name}` once with the network (HF_HUB_OFFLINE unset)"
        )
    raise FetchError(
        f"dataset {repo}: no parquet files on the hub (looked in data/ on main and in "
        f"{CONVERTED_BRANCH}); known course datasets: {', '.join(COURSE_DATASETS)}"
    )


def _checked_files(
    repo: str, name: str, folder: Path, pattern: re.Pattern[str], cache: Path, offline: bool
) -> Files:
    """The snapshot's parquet files that `pattern` names, in split then name order; refused when
    the snapshot lacks a file that its listing names (huggingface_hub's cached listing of the
    commit, else the shard names' `-of-NNNNN`), or a file does not match its listed size and
    SHA-256 (without a listing, its blob's name: the SHA-256 that LFS files are stored under)."""
    commit = folder.name
    listing = _cached_listing(repo, commit, cache)
    found = []
    for path in sorted(folder.rglob("*.parquet")):
        match = pattern.fullmatch(path.relative_to(folder).as_posix())
        if match:
            found.append((path, match.group("split")))
    named = {path for path in listing or () if pattern.fullmatch(path)}
    if not found and not named:
        return []
    have = {path.relative_to(folder).as_posix() for path, _ in found}
    missing = sorted((named or _shard_names(have)) - have)
    rerun = f"run `pricebench data get {name}` once with the network (HF_HUB_OFFLINE unset)"
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        why = "HF_HUB_OFFLINE is set and" if offline else "the hub could not be reached and"
        raise FetchError(
            f"{why} the cached snapshot of {repo} ({commit[:12]}) lacks {missing[0]}{more}, "
            f"which its listing names: {rerun}"
        )
    checked = []
    for path, split in found:
        size, sha = (listing or {}).get(path.relative_to(folder).as_posix(), (None, None))
        blob = path.resolve()
        if sha is None and re.fullmatch(r"[0-9a-f]{64}", blob.name):
            sha = blob.name
        actual, digest = path.stat().st_size, file_sha256(path)
        if (size is None or actual == size) and (sha is None or digest == sha):
            checked.append((path, split, digest))
            continue
        what = "size" if size is not None and actual != size else "SHA-256"
        if offline:
            raise FetchError(
                f"{path}: the cached file does not match its listed {what}: run `pricebench data "
                f"get {name} --force` once with the network (HF_HUB_OFFLINE unset)"
            )
        blob.unlink(missing_ok=True)  # a new fetch downloads it again
        raise FetchError(
            f"{repo}/{path.relative_to(folder).as_posix()}: the downloaded file does not match "
            f"the hub's listing ({what}); deleted, run again"
        )
    order = {"train": 0, "validation": 1, "test": 2}
    checked.sort(key=lambda file: (order.get(file[1], 3), file[1], str(file[0])))
    return checked


def _cached_listing(
    repo: str, commit: str, cache: Path
) -> dict[str, tuple[int, str | None]] | None:
    """{path: (size, SHA-256 of an LFS file)} of a commit as huggingface_hub cached its listing
    (`snapshot_download` keeps it under `trees/`); None when it has none."""
    from huggingface_hub import get_cached_repo_tree
    from huggingface_hub.errors import CachedRepoTreeNotFoundError

    try:
        files = get_cached_repo_tree(repo, repo_type="dataset", revision=commit, cache_dir=cache)
    except CachedRepoTreeNotFoundError:
        return None
    return {f.path: (f.size, f.lfs.sha256 if f.lfs is not None else None) for f in files}


def _shard_names(have: set[str]) -> set[str]:
    """Every shard that `<split>-NNNNN-of-MMMMM.parquet` names say a split has."""
    named = set()
    for path in have:
        shard = re.fullmatch(r"(?P<head>.*-)\d+-of-(?P<count>\d+)\.parquet", path)
        if shard:
            count = shard.group("count")
            head = shard.group("head")
            named |= {f"{head}{n:0{len(count)}d}-of-{count}.parquet" for n in range(int(count))}
    return named | have


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
                    counts[split] += 1
                    item["id"] = _unique_id(item["id"], split, counts[split], seen)
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


def _unique_id(row_id: str, split: str, row: int, seen: set[str]) -> str:
    """`row_id`, or when an earlier row had it, `row_id~<split><row>` with `row` the row's number
    within its split counted across the split's files in listing order (unique in the dataset
    whatever the shards), and `~2`, `~3`, ... after that in the rare case a source id already
    reads like one; added to `seen`."""
    unique = row_id if row_id not in seen else f"{row_id}~{split}{row}"
    again = 1
    while unique in seen:
        again += 1
        unique = f"{row_id}~{split}{row}~{again}"
    seen.add(unique)
    return unique


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
