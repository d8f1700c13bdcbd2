"""Saving a built dataset: pricebench JSONL (and Parquet when pyarrow is installed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pricebench.items import Item

ITEMS_NAME = "items.jsonl"
PARQUET_NAME = "items.parquet"


def item_record(item: Item) -> dict[str, Any]:
    """The JSONL object of an item: its fields, with `extras` spread at the top level, which is
    where `pricebench.load_items` looks for them."""
    record: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "text": item.text,
        "price": item.price,
        "category": item.category,
        "split": item.split,
    }
    record.update(item.extras)
    return record


def save_items(items: Sequence[Item], directory: Path, *, parquet: bool = True) -> list[Path]:
    """Write `items.jsonl` (and `items.parquet` if asked and pyarrow is importable) into
    `directory`, each through a temporary name so that a cut-off run leaves no half file."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / ITEMS_NAME
    partial = target.with_name(target.name + ".part")
    with open(partial, "w", encoding="utf-8") as sink:
        for item in items:
            sink.write(json.dumps(item_record(item), ensure_ascii=False) + "\n")
    partial.replace(target)
    written = [target]
    if parquet:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return written
        rows = [item_record(item) for item in items]
        # every column any item has (from_pylist would take them from the first row only)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        table = pa.table({key: [row.get(key) for row in rows] for key in columns})
        parquet_path = directory / PARQUET_NAME
        pq.write_table(table, parquet_path.with_name(PARQUET_NAME + ".part"))
        parquet_path.with_name(PARQUET_NAME + ".part").replace(parquet_path)
        written.append(parquet_path)
    return written


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
