"""Request files for provider batch jobs: one JSON line per item, split to the provider's limits.

Lines are written as they are made, so building the files for 100,000 items holds one line in
memory at a time. Each request file has a companion manifest (`items-NNN.jsonl`) that maps every
line's `custom_id` back to its item, for collecting results later without the item texts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pricebench.errors import PricerError, ResultsError
from pricebench.files import read_jsonl

# Anthropic's documented custom_id pattern; OpenAI accepts any string, so one rule serves both.
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def custom_id(item_id: str) -> str:
    """The item id itself when a provider accepts it as a custom_id, else a stable hash of it."""
    if _CUSTOM_ID.match(item_id):
        return item_id
    return "h-" + hashlib.sha256(item_id.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Limits:
    """The most requests and bytes one batch may hold."""

    max_requests: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1:
            raise PricerError(f"batch limits must be positive, got {self}")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What collecting needs to know about one item sent in a batch (no text: it may be long).

    Plain JSON and slots rather than a pydantic model: a batch holds up to 100,000 of them.
    """

    custom_id: str
    id: str
    title: str
    price: float
    key: str | None = None  # response-cache key of its request

    def to_line(self) -> str:
        return json.dumps([self.custom_id, self.id, self.title, self.price, self.key]) + "\n"

    @classmethod
    def from_line(cls, line: str | bytes) -> ManifestEntry:
        return cls(*json.loads(line))


@dataclass(frozen=True)
class RequestFile:
    """One written request file, to become one batch."""

    index: int
    name: str  # file name inside the batch directory
    manifest: str
    n_requests: int
    n_bytes: int


def request_name(index: int) -> str:
    return f"requests-{index:03d}.jsonl"


def manifest_name(index: int) -> str:
    return f"items-{index:03d}.jsonl"


def encode(line: dict[str, Any]) -> bytes:
    """A request line as the provider reads it: compact JSON, UTF-8, one line."""
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class RequestFileWriter:
    """Writes request lines into as many files as the limits need, numbered from `first_index`."""

    def __init__(self, directory: Path, limits: Limits, first_index: int = 0) -> None:
        self.directory = directory
        self.limits = limits
        self.index = first_index - 1
        self.files: list[RequestFile] = []
        self._requests: IO[bytes] | None = None
        self._manifest: IO[str] | None = None
        self._count = 0
        self._bytes = 0
        self._ids: set[str] = set()  # custom_ids must be unique within a batch

    def add(self, line: dict[str, Any], entry: ManifestEntry) -> int:
        """Append one request line (and its manifest entry); the index of the file it went to."""
        data = encode(line)
        if len(data) > self.limits.max_bytes:
            raise PricerError(
                f"item {entry.id!r}: its batch request is {len(data):,} bytes, over the "
                f"{self.limits.max_bytes:,}-byte limit of one batch"
            )
        full = self._count >= self.limits.max_requests
        if self._requests is None or full or self._bytes + len(data) > self.limits.max_bytes:
            self._roll()
        if entry.custom_id in self._ids:
            raise PricerError(f"item id {entry.id!r} appears twice: batch ids must be unique")
        self._ids.add(entry.custom_id)
        assert self._requests is not None and self._manifest is not None
        self._requests.write(data)
        self._manifest.write(entry.to_line())
        self._count += 1
        self._bytes += len(data)
        return self.index

    def close(self) -> list[RequestFile]:
        """Finish the last file; every file written, in order."""
        self._finish()
        return self.files

    def _roll(self) -> None:
        self._finish()
        self.index += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        self._requests = (self.directory / request_name(self.index)).open("wb")
        self._manifest = (self.directory / manifest_name(self.index)).open("w", encoding="utf-8")
        self._count = self._bytes = 0
        self._ids = set()

    def _finish(self) -> None:
        if self._requests is None or self._manifest is None:
            return
        self._requests.close()
        self._manifest.close()
        self.files.append(
            RequestFile(
                self.index,
                request_name(self.index),
                manifest_name(self.index),
                self._count,
                self._bytes,
            )
        )
        self._requests = self._manifest = None

    def __enter__(self) -> RequestFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()


def iter_manifest(path: Path) -> Iterator[ManifestEntry]:
    """The entries of a manifest file, streamed."""
    try:
        for _, entry in read_jsonl(path, ManifestEntry.from_line, invalid="not a manifest entry"):
            yield entry
    except FileNotFoundError:
        raise ResultsError(f"{path}: batch manifest missing") from None


def read_batch_manifest(path: Path) -> dict[str, ManifestEntry]:
    """A manifest file as custom_id -> entry."""
    return {entry.custom_id: entry for entry in iter_manifest(path)}


def reply_index(path: Path) -> dict[str, tuple[str, str | None]]:
    """custom_id -> (item id, cache key): all that matching replies needs, kept lean because it
    holds a whole batch (up to 100,000 requests) while its results are read."""
    return {
        e.custom_id: (e.custom_id if e.id == e.custom_id else e.id, e.key)
        for e in iter_manifest(path)
    }
