"""Deduplicating and balancing curated items, as the course did. Both recipes are seeded.

Raw categories are dominated by cheap items (and by Automotive). The course evened this out in two
ways: in 2024, by whole-dollar price slot with a cap per slot (items from over-represented
categories less likely to be kept); in 2025, by sampling with weights that grow with price.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from pricebench.errors import DataError
from pricebench.items import Item

# Relative chance of a category's items being kept (unlisted categories: 1.0).
COURSE_2024_WEIGHTS: dict[str, float] = {"Automotive": 0.2}  # the course: 1 vs 5 for others
COURSE_2025_WEIGHTS: dict[str, float] = {"Tools_and_Home_Improvement": 0.5, "Automotive": 0.05}


def dedupe(
    items: Iterable[Item], keys: Sequence[str] = ("id", "title", "text")
) -> tuple[list[Item], Counter[str]]:
    """Items in order, without any whose id, title or text an earlier item already had.

    Returns the kept items and how many were dropped per key ("same_title": 12, ...).
    """
    seen: dict[str, set[str]] = {key: set() for key in keys}
    kept: list[Item] = []
    dropped: Counter[str] = Counter()
    for item in items:
        clash = next((key for key in keys if getattr(item, key) in seen[key]), None)
        if clash is not None:
            dropped[f"same_{clash}"] += 1
            continue
        for key in keys:
            seen[key].add(getattr(item, key))
        kept.append(item)
    return kept, dropped


def _category_weights(items: Sequence[Item], weights: Mapping[str, float] | None) -> np.ndarray:
    weights = weights or {}
    values = np.array([weights.get(item.category or "", 1.0) for item in items], dtype=float)
    if (values < 0).any() or not values.any():
        raise DataError("category weights must be >= 0, and not all 0")
    return values


def balance_slots(
    items: Sequence[Item],
    *,
    cap: int = 1200,
    keep_above: float = 240,
    category_weights: Mapping[str, float] | None = None,
    seed: int = 42,
) -> list[Item]:
    """The 2024 recipe: group by whole-dollar price; a slot under `keep_above` dollars holding
    more than `cap` items keeps `cap` of them, drawn without replacement with `category_weights`.
    Slots at or above `keep_above` are kept whole (expensive items are rare). Slot order out."""
    if cap < 1:
        raise DataError(f"slot cap must be at least 1, got {cap}")
    rng = np.random.default_rng(seed)
    slots: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        slots[round(item.price)].append(item)
    sample: list[Item] = []
    for dollars in sorted(slots):
        slot = slots[dollars]
        if dollars >= keep_above or len(slot) <= cap:
            sample.extend(slot)
            continue
        weights = _category_weights(slot, category_weights)
        nonzero = int((weights > 0).sum())
        chosen = rng.choice(
            len(slot), size=min(cap, nonzero), replace=False, p=weights / weights.sum()
        )
        sample.extend(slot[i] for i in sorted(chosen))
    return sample


def balance_weighted(
    items: Sequence[Item],
    size: int,
    *,
    exponent: float = 2.0,
    floor: float = 1e-4,
    category_weights: Mapping[str, float] | None = None,
    seed: int = 42,
) -> list[Item]:
    """The 2025 recipe: draw `size` items without replacement, each with weight
    (price scaled to 0..1) ** exponent + floor, times its category's weight. `floor` keeps the
    cheapest item possible (the course's weight gave it none). Input order out."""
    if size < 1:
        raise DataError(f"sample size must be at least 1, got {size}")
    prices = np.array([item.price for item in items], dtype=float)
    if len(prices) == 0:
        raise DataError("no items to sample from")
    span = prices.max() - prices.min()
    scaled = (prices - prices.min()) / span if span > 0 else np.ones_like(prices)
    weights = (scaled**exponent + floor) * _category_weights(items, category_weights)
    available = int((weights > 0).sum())
    if size > available:
        raise DataError(f"asked for a sample of {size:,} items but only {available:,} can be drawn")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(items), size=size, replace=False, p=weights / weights.sum())
    return [items[i] for i in sorted(chosen)]
