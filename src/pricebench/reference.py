"""The course's published leaderboards, shipped as data to show beside a user's own runs.

They were measured on the course's datasets, not on the user's, so they are only ever printed apart
from the user's runs, headed as such, and never ranked or tested against them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from pydantic import BaseModel

NOT_MEASURED = "published by the course on its own data, NOT measured on your data"


class ReferenceRow(BaseModel):
    pricer: str
    mean_error: float
    rmsle: float | None = None
    hit_rate: float | None = None
    n: int | None = None  # when this row used fewer items than its edition's `n`


class ReferenceBoard(BaseModel):
    """One edition's published table, with the data and number of items it was measured on."""

    edition: str
    dataset: str
    n: int
    currency: str = "USD"
    hit_rule: str | None = None
    note: str = ""
    rows: list[ReferenceRow]

    @property
    def title(self) -> str:
        return f"Course reference, {self.edition} edition: {NOT_MEASURED}"

    def sorted_rows(self) -> list[ReferenceRow]:
        return sorted(self.rows, key=lambda row: row.mean_error)


class _ReferenceFile(BaseModel):
    source: str
    note: str
    editions: list[ReferenceBoard]


@cache
def _load() -> _ReferenceFile:
    text = files("pricebench").joinpath("reference.json").read_text(encoding="utf-8")
    return _ReferenceFile.model_validate_json(text)


def reference_boards() -> list[ReferenceBoard]:
    """The published tables, oldest edition first."""
    return list(_load().editions)


def reference_source() -> str:
    return _load().source
