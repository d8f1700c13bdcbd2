"""The course's published leaderboards, shipped as data to show beside a user's own runs.

They were measured on the course's datasets. Beside runs on other data they are printed apart,
headed as NOT measured on your data. Beside a run on exactly the items they were measured on (the
first `n` test items of a course dataset fetched with `pricebench data get`, checked by
fingerprint) they are same-data figures, shown with that run's table. Either way they are never
ranked or tested against the user's runs: the course published no per-item predictions.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from pydantic import BaseModel

NOT_MEASURED = "published by the course on its own data, NOT measured on your data"
SAME_DATA = "same-data figures, not re-measured here"


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
    # hub datasets (OWNER/NAME) whose first `n` test items these figures were measured on
    hub_datasets: list[str] = []
    rows: list[ReferenceRow]

    @property
    def title(self) -> str:
        return f"Course reference, {self.edition} edition: {NOT_MEASURED}"

    def same_data_title(self, repo: str) -> str:
        return (
            f"Course {self.edition} edition, published on these same items "
            f"(the first {self.n} test items of {repo}): {SAME_DATA}"
        )

    def sorted_rows(self) -> list[ReferenceRow]:
        return sorted(self.rows, key=lambda row: row.mean_error)


class _ReferenceFile(BaseModel):
    source: str
    note: str
    editions: list[ReferenceBoard]


@cache
def _load() -> _ReferenceFile:
    text = files("pricebench.compare").joinpath("reference.json").read_text(encoding="utf-8")
    return _ReferenceFile.model_validate_json(text)


def reference_boards() -> list[ReferenceBoard]:
    """The published tables, oldest edition first."""
    return list(_load().editions)


def reference_source() -> str:
    return _load().source


def course_test_sizes() -> tuple[int, ...]:
    """How many test items (the first ones) the course's published figures were measured on."""
    return tuple(sorted({board.n for board in reference_boards()}))


def same_data_board(
    dataset: str, fingerprint: str, n_items: int
) -> tuple[ReferenceBoard, str] | None:
    """The published table measured on exactly a run's items, with the dataset it names: the run
    was made on the first `n` test items of a course dataset fetched here (its header's data
    label and fingerprint say so) and `n` is the number the course used. Else None."""
    from pricebench.pipeline.fetched import fetched_first_test_items

    for board in reference_boards():
        if n_items != board.n or not board.hub_datasets:
            continue
        fetched = fetched_first_test_items(dataset, fingerprint, n_items, course_test_sizes())
        if fetched is not None and fetched.repo in board.hub_datasets:
            return board, fetched.repo
    return None
