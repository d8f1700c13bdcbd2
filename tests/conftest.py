"""Shared fixtures: the real data beside the checkout, and small hand-made items."""

from __future__ import annotations

from pathlib import Path

import pytest

from pricebench import Item

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COURSE_ITEMS = DATA / "course-items.jsonl"
UK_TOYS = DATA / "uk-toys-gbp.csv"
RAW_SAMPLE = DATA / "meta_Health_and_Personal_Care.sample.jsonl"


@pytest.fixture
def items() -> list[Item]:
    """Five items with easy prices, for hand-computed metrics."""
    prices = [10.0, 50.0, 100.0, 200.0, 400.0]
    return [
        Item(id=f"i{n}", title=f"Item {n}", text=f"Item {n} costs about {p}", price=p)
        for n, p in enumerate(prices)
    ]


@pytest.fixture(autouse=True)
def _no_writes_to_the_users_home(tmp_path_factory, monkeypatch):
    """Caches and fine-tuning state go to a temporary folder, never to the real user folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PRICEBENCH_CACHE", str(home / "responses.sqlite"))
    monkeypatch.setenv("PRICEBENCH_DOWNLOADS", str(home / "downloads"))
    monkeypatch.setenv("PRICEBENCH_FINETUNE_DIR", str(home / "finetune"))
    monkeypatch.delenv("PRICEBENCH_PRICES", raising=False)
