"""Course datasets fetched to this machine: where they are kept, and which one a run was made on.

Kept apart from the hub client (`hub`) so that the comparison wing can tell a same-data run
(`pricebench.compare.reference`) without importing it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from pricebench.files import write_atomic
from pricebench.items import Item, fingerprint

FIRST_TEST_FINGERPRINTS = "first_test_fingerprints"


def datasets_dir() -> Path:
    """Where fetched datasets are kept: $PRICEBENCH_DOWNLOADS/hub-datasets, else the user cache."""
    override = os.environ.get("PRICEBENCH_DOWNLOADS")
    if override:
        return Path(override).expanduser() / "hub-datasets"
    return Path(platformdirs.user_cache_dir("pricebench")) / "hub-datasets"


def first_fingerprints(test: list[Item], sizes: tuple[int, ...]) -> dict[str, str]:
    """The fingerprints of the first `n` test items, for each `n` in `sizes` that there are."""
    return {str(n): fingerprint(test[:n]) for n in sizes if len(test) >= n}


@dataclass(frozen=True)
class FetchedRun:
    """A run's data identified as the first `n` test items of a fetched hub dataset."""

    repo: str
    n: int


_FETCHED_LABEL = re.compile(r"(?:\A|[/\\])(?P<repo>[\w.-]+[/\\][\w.-]+)[/\\]items\.jsonl#test\Z")


def fetched_first_test_items(
    dataset: str, run_fingerprint: str, n_items: int, sizes: tuple[int, ...]
) -> FetchedRun | None:
    """The fetched dataset whose first `n_items` test items a run was made on, from the data
    label and fingerprint its header records (`.../OWNER/NAME/items.jsonl#test`); None when the
    run was on other data, on other test items, or the dataset is not fetched here (nothing can
    then be checked). `sizes` are the first-item counts to record for a dataset fetched without
    them."""
    found = _FETCHED_LABEL.search(dataset)
    if found is None:
        return None
    repo = found.group("repo").replace("\\", "/")
    beside = Path(dataset.removesuffix("#test")).with_name("source.json")
    for info_path in (beside, datasets_dir() / repo / "source.json"):
        info = _read_info(info_path)
        if info is None or info.get("repo") != repo:
            continue
        firsts = info.get(FIRST_TEST_FINGERPRINTS)
        if not isinstance(firsts, dict):  # fetched by a version that did not record them
            firsts = _record_first_fingerprints(info_path, info, sizes)
        if firsts.get(str(n_items)) == run_fingerprint:
            return FetchedRun(repo, n_items)
    return None


def _read_info(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _record_first_fingerprints(
    info_path: Path, info: dict[str, Any], sizes: tuple[int, ...]
) -> dict[str, str]:
    """The first test items' fingerprints of a dataset fetched without them, read from its items
    (streamed: only the test rows are kept) and saved into its `source.json`."""
    largest = max(sizes)
    test: list[Item] = []
    try:
        with open(info_path.with_name("items.jsonl"), encoding="utf-8") as handle:
            for line in handle:
                if '"split": "test"' not in line:  # a cheap look before decoding
                    continue
                row = json.loads(line)
                if row.get("split") != "test":
                    continue
                test.append(Item(id=row["id"], title="-", text="-", price=row["price"]))
                if len(test) == largest:
                    break
    except (OSError, ValueError, KeyError):
        return {}
    firsts = first_fingerprints(test, sizes)
    write_atomic(info_path, json.dumps({**info, FIRST_TEST_FINGERPRINTS: firsts}, indent=1) + "\n")
    return firsts
