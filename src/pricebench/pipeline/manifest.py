"""The manifest saved beside a built dataset: where it came from and what curation did."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pricebench._version import __version__
from pricebench.errors import DataError
from pricebench.items import Item, fingerprint
from pricebench.pipeline.curate import CurationConfig

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
# Upper edges of the price bands counted in the manifest, dollars.
BAND_EDGES = (10, 25, 50, 100, 250, 500, 1000)


class SourceInfo(BaseModel):
    """One raw input file and what curating it did."""

    path: str
    url: str | None = None
    category: str | None = None
    size: int
    sha256: str | None = None
    records: int  # lines read
    counts: dict[str, int]  # outcome ("kept", "missing_price", ...) -> records
    notes: dict[str, int] = Field(default_factory=dict)
    examples: dict[str, list[str]] = Field(default_factory=dict)
    seconds: float = 0.0


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    created: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    pricebench_version: str = __version__
    sources: list[SourceInfo]
    # the sources' paths in the order they were read: the sample depends on it
    source_order: list[str] = Field(default_factory=list)
    curation: CurationConfig
    # what a reader must know before trusting the items (e.g. approximate course token counts)
    warnings: list[str] = Field(default_factory=list)
    counts: dict[str, int]  # outcomes summed over sources
    deduplicated: dict[str, int] = Field(default_factory=dict)  # "same_title" -> items dropped
    balance: dict[str, Any] = Field(default_factory=dict)  # recipe name and its parameters
    splits: dict[str, int] = Field(default_factory=dict)
    categories: dict[str, int] = Field(default_factory=dict)
    price_bands: dict[str, int] = Field(default_factory=dict)
    items: int = 0
    fingerprint: str = ""  # of all items (pricebench.fingerprint)
    test_fingerprint: str = ""  # what results runs on this dataset's test split record
    files: list[str] = Field(default_factory=list)
    checksums: dict[str, str] = Field(default_factory=dict)  # file name -> SHA-256 of its bytes
    content_sha256: str = ""  # of every item's id, split, price, category and text

    def describe_items(self, items: Sequence[Item], content: str | None = None) -> Manifest:
        """A copy holding the counts, bands and fingerprints of the final items (anything with
        their `id`, `price`, `split` and `category`; `content`: their `content_sha256`, computed
        from their titles and texts when not given)."""
        test = [item for item in items if item.split == "test"]
        return self.model_copy(
            update={
                "items": len(items),
                "splits": dict(Counter(item.split or "none" for item in items)),
                "categories": dict(
                    Counter(item.category or "none" for item in items).most_common()
                ),
                "price_bands": price_bands(item.price for item in items),
                "fingerprint": fingerprint(items),
                "content_sha256": content if content is not None else content_sha256(items),
                "test_fingerprint": fingerprint(test) if test else "",
            }
        )


def content_sha256(items: Sequence[Item]) -> str:
    """A hash of what the items say, not only of (id, price) as `fingerprint` (which results
    record) is: a changed text or split changes it."""
    digest = hashlib.sha256()
    for item in items:
        row = [item.id, item.split, item.price, item.category, item.title, item.text]
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def band_label(price: float) -> str:
    low = 0
    for high in BAND_EDGES:
        if price < high:
            return f"${low}-{high}"
        low = high
    return f"${low}+"


def price_bands(prices: Any) -> dict[str, int]:
    counts = Counter(band_label(price) for price in prices)
    labels = [band_label(edge - 0.01) for edge in BAND_EDGES] + [band_label(BAND_EDGES[-1])]
    return {label: counts[label] for label in labels}


def write_manifest(manifest: Manifest, directory: Path) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(path: str | Path) -> tuple[Manifest, Path]:
    """The manifest of a dataset directory, of the items file beside it, or the file itself."""
    path = Path(path)
    candidate = path / MANIFEST_NAME if path.is_dir() else path
    if candidate.name != MANIFEST_NAME:
        candidate = candidate.with_name(MANIFEST_NAME)
    if not candidate.is_file():
        raise DataError(
            f"{path}: no {MANIFEST_NAME} there (build a dataset with `pricebench data build`)"
        )
    try:
        return Manifest.model_validate(json.loads(candidate.read_text(encoding="utf-8"))), candidate
    except (json.JSONDecodeError, ValidationError) as error:
        raise DataError(
            f"{candidate}: not a pricebench manifest ({str(error).splitlines()[0]})"
        ) from None
