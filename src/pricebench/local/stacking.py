"""Out-of-fold predictions: what each member of a stack says about items it did not learn from.

Both stacks in pricebench (`Ensemble` and `LocalBest`) fit their blend on these, so the blend is
judged on honest predictions, never on items a member memorised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from pricebench.items import Item

Predict = Callable[[Any, list[Item]], np.ndarray]


def out_of_fold(
    members: Sequence[Any],
    fresh: Sequence[Callable[[], Any] | None],
    items: Sequence[Item],
    *,
    folds: int,
    seed: int,
    predict: Predict,
) -> np.ndarray:
    """One column per member: its predictions for `items`, each from a copy fitted without the
    item's fold (`fresh[j]()` makes an unfitted copy of member j). A member whose `fresh` is None
    learns nothing, so it predicts every item once, as it is."""
    items = list(items)
    columns = np.full((len(items), len(members)), np.nan)
    splits = list(KFold(min(folds, len(items)), shuffle=True, random_state=seed).split(items))
    for column, (member, make) in enumerate(zip(members, fresh, strict=True)):
        if make is None:
            columns[:, column] = predict(member, items)
            continue
        for fit_rows, held_rows in splits:
            copy = make().fit([items[i] for i in fit_rows])
            columns[held_rows, column] = predict(copy, [items[i] for i in held_rows])
    return columns
