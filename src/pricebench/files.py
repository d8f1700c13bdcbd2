"""The project's two ways of touching files: JSON Lines read one line at a time with errors that
name the line, and whole files written atomically so that a crash never leaves half of one.

Every `.jsonl` the project reads (data, run records, tuning trials, batch manifests and replies)
goes through `read_jsonl`; every state or header file it rewrites goes through `write_atomic`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from pricebench.errors import PricebenchError, ResultsError

T = TypeVar("T")


class BadLine(ValueError):
    """Raised by a line parser given to `read_jsonl`: its message says what is wrong."""


def read_jsonl(
    path: Path,
    parse: Callable[[bytes], T],
    *,
    invalid: str = "not valid JSON",
    error: type[PricebenchError] = ResultsError,
    torn_tail: bool = False,
    lines: Iterable[tuple[int, bytes | str]] | None = None,
) -> Iterator[tuple[int, T]]:
    """(line number, `parse(line)`) for each non-blank line of `path`, streamed.

    A line `parse` rejects (ValueError or TypeError; JSON and pydantic errors are ValueErrors)
    raises `error` naming the file and the line, with the `BadLine` message or else `invalid`.
    With `torn_tail`, a rejected last line without its newline ends the file instead: a crash
    cut it mid-write. `lines` are numbered lines already read (decompressed, decoded) from
    `path`, when the file is not plain JSON Lines on disk.
    """
    if lines is None:
        with path.open("rb") as handle:
            yield from _parsed(path, enumerate(handle, start=1), parse, invalid, error, torn_tail)
    else:
        yield from _parsed(path, lines, parse, invalid, error, torn_tail)  # type: ignore[arg-type]


def _parsed(
    path: Path,
    lines: Iterable[tuple[int, bytes]],
    parse: Callable[[bytes], T],
    invalid: str,
    error: type[PricebenchError],
    torn_tail: bool,
) -> Iterator[tuple[int, T]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            value = parse(line)
        except BadLine as bad:
            raise error(f"{path}, line {number}: {bad}") from None
        except (ValueError, TypeError):
            if torn_tail and line[-1:] not in (b"\n", "\n"):
                return
            raise error(f"{path}, line {number}: {invalid}") from None
        yield number, value


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through `<name>.tmp` beside it: a crash mid-write leaves the old
    file (or none), never half of one. A failed write removes the temporary file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path


CSV_FIELD_LIMIT = 2**31 - 1  # characters: the most the csv module takes on every platform


def raise_csv_field_limit() -> None:
    """Let CSV fields be as long as a JSONL line's text may be. The csv module's default, 131,072
    characters, refused product texts that JSONL takes; the limit is the module's, process-wide."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
