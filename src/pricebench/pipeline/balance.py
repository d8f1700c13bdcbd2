"""Deduplicating and balancing curated items, as the course did. Both recipes are seeded.

Raw categories are dominated by cheap items (and by Automotive). The course evened this out in two
ways: in 2024, by whole-dollar price slot with a cap per slot (items from over-represented
categories less likely to be kept); in 2025, by sampling with weights that grow with price.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

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


# --- the course's own steps, exactly (week6 day1 2025, day2 2024) --------------------------------
# They use Python's `random` and numpy's legacy global generator (`np.random.seed` then
# `np.random.choice`), in the course's order; pricebench's recipes above use numpy's newer
# generator, so the same seed draws other items. These give the course's draws for the same input.

_T = TypeVar("_T")  # an Item, or anything with its `title` and `text` (the build's references)
COURSE_2024_SLOT_CAP = 1200
COURSE_2024_KEEP_ABOVE = 240
COURSE_2025_SIZE = 820_000


def dedupe_course(
    items: Sequence[_T], edition: str, seed: int = 42
) -> tuple[list[_T], Counter[str]]:
    """The course's duplicate removal. 2024: none. 2025: shuffle with `random.seed(seed)`, keep the
    first item of each title, then the first of each full text (the item's `text`)."""
    if edition == "course-2024":
        return list(items), Counter()
    if edition != "course-2025":
        raise DataError(f"no course duplicate rule for {edition!r}")
    order = list(items)
    random.Random(seed).shuffle(order)
    dropped: Counter[str] = Counter()
    kept: list[_T] = []
    for key in ("title", "text"):
        seen: set[object] = set()
        kept = []
        for item in order:
            value = getattr(item, key)
            if value in seen:
                dropped[f"same_{key}"] += 1
                continue
            seen.add(value)
            kept.append(item)
        order = kept
    return order, dropped


def balance_course_2024(
    items: Sequence[Item],
    *,
    cap: int = COURSE_2024_SLOT_CAP,
    keep_above: int = COURSE_2024_KEEP_ABOVE,
    seed: int = 42,
) -> list[Item]:
    """The 2024 course's sample: whole-dollar slots 1..999 (`round`, so $0.50 falls in slot 0
    and out); a slot from `keep_above` up, or of at most `cap` items, whole; else `cap` items
    drawn with weight 1 for Automotive and 5 for the others, in the order drawn."""
    if cap < 1:
        raise DataError(f"slot cap must be at least 1, got {cap}")
    rng = np.random.RandomState(seed)  # np.random.seed(seed): the legacy global generator
    slots: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        slots[round(item.price)].append(item)
    sample: list[Item] = []
    for dollars in range(1, 1000):
        slot = slots.get(dollars, [])
        if dollars >= keep_above or len(slot) <= cap:
            sample.extend(slot)
            continue
        weights = np.array([1 if item.category == "Automotive" else 5 for item in slot])
        chosen = rng.choice(len(slot), size=cap, replace=False, p=weights / np.sum(weights))
        sample.extend(slot[i] for i in chosen)
    return sample


def balance_course_2025(
    items: Sequence[Item], size: int | None = COURSE_2025_SIZE, *, seed: int = 42
) -> list[Item]:
    """The 2025 course's sample: `size` items drawn with weight ((price - lowest) / (span +
    1e-9)) ** 2, halved for Tools_and_Home_Improvement and x0.05 for Automotive, in the order
    drawn (the cheapest item has weight 0, as in the course). `size` None: the course's 820,000,
    or every item that can be drawn when there are fewer."""
    if size is not None and size < 1:
        raise DataError(f"sample size must be at least 1, got {size}")
    if not items:
        raise DataError("no items to sample from")
    prices = np.array([item.price for item in items], dtype=float)
    categories = np.array([item.category for item in items])
    scaled = (prices - prices.min()) / (prices.max() - prices.min() + 1e-9)
    weights = scaled**2
    weights[categories == "Tools_and_Home_Improvement"] *= 0.5
    weights[categories == "Automotive"] *= 0.05
    available = int((weights > 0).sum())
    if size is None:
        size = min(COURSE_2025_SIZE, available)
    if size > available:
        raise DataError(f"asked for a sample of {size:,} items but only {available:,} can be drawn")
    rng = np.random.RandomState(seed)
    chosen = rng.choice(len(items), size=size, replace=False, p=weights / weights.sum())
    return [items[i] for i in chosen]
