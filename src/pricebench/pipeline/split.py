"""Seeded train / validation / test splits of fixed sizes or fractions."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pricebench.errors import DataError
from pricebench.items import Item


def _count(value: int | float | None, total: int, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and 0 < value < 1:
        return round(total * value)
    if value < 0 or (isinstance(value, float) and not value.is_integer()):
        raise DataError(f"--{name} must be a count or a fraction between 0 and 1, got {value}")
    return int(value)


def split_items(
    items: Sequence[Item],
    *,
    test: int | float,
    train: int | float | None = None,
    validation: int | float = 0,
    seed: int = 42,
) -> list[Item]:
    """Shuffle with `seed`, then cut train, validation and test (counts, or fractions of all).

    `train=None` takes every item left after test and validation. Each returned item carries its
    `split`; items beyond the requested sizes are left out. Asking for more than there is fails.
    """
    total = len(items)
    n_test = _count(test, total, "test") or 0
    n_validation = _count(validation, total, "validation") or 0
    n_train = _count(train, total, "train")
    if n_train is None:
        n_train = total - n_test - n_validation
    wanted = n_train + n_validation + n_test
    if n_train < 0 or wanted > total:
        raise DataError(
            f"asked for {n_train:,} train + {n_validation:,} validation + {n_test:,} test items "
            f"but only {total:,} are left after curation and balancing"
        )
    order = list(range(total))
    random.Random(seed).shuffle(order)
    cuts = (("train", n_train), ("validation", n_validation), ("test", n_test))
    result: list[Item] = []
    start = 0
    for name, count in cuts:
        result.extend(
            items[i].model_copy(update={"split": name}) for i in order[start : start + count]
        )
        start += count
    return result
