"""Saving a built dataset: pricebench JSONL (and Parquet when pyarrow is installed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
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


def save_items(items: Iterable[Item], directory: Path, *, parquet: bool = True) -> list[Path]:
    """Write `items.jsonl` (and `items.parquet` if asked and pyarrow is importable) into
    `directory`, each through a temporary name so that a cut-off run leaves no half file.

    `items` may be a generator: nothing is held but one batch at a time (the Parquet file is
    written from the JSONL file, in batches, with every column any item has)."""
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
            import pyarrow  # noqa: F401 - only to know whether Parquet can be written
        except ImportError:
            return written
        written.append(_jsonl_to_parquet(target, directory / PARQUET_NAME))
    return written


def _jsonl_to_parquet(source: Path, target: Path, batch_rows: int = 2_000) -> Path:
    """Parquet with a column for every key of any line (null where a line lacks it): a first
    pass finds the columns and their types, a second writes them in batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds: dict[str, set[type]] = {}
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            for key, value in json.loads(line).items():
                kinds.setdefault(key, set()).add(type(value))
    schema = pa.schema([(key, _arrow_type(types)) for key, types in kinds.items()])
    partial = target.with_name(target.name + ".part")
    with pq.ParquetWriter(partial, schema) as writer, open(source, encoding="utf-8") as lines:
        batch: list[dict[str, Any]] = []
        for line in lines:
            batch.append(json.loads(line))
            if len(batch) >= batch_rows:
                writer.write_table(_table(batch, schema))
                batch = []
        if batch:
            writer.write_table(_table(batch, schema))
    partial.replace(target)
    return target


def _arrow_type(types: set[type]) -> Any:
    import pyarrow as pa

    types = types - {type(None)}
    if types == {bool}:
        return pa.bool_()
    if types == {int}:
        return pa.int64()
    if types and types <= {int, float}:
        return pa.float64()
    if types <= {str}:
        return pa.string()
    return pa.string()  # mixed or nested values: kept as their JSON text


def _table(rows: list[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    columns = {}
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if field.type == pa.string():
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        columns[field.name] = pa.array(values, type=field.type)
    return pa.table(columns, schema=schema)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
