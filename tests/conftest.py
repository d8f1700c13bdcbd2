"""Shared fixtures: the real data beside the checkout, and small hand-made items."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
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


class Hung(str):
    """The URL of a server that never answers, with the connections it has taken."""

    held: list[socket.socket]


@pytest.fixture
def hung_server() -> Iterator[Hung]:
    """A server on 127.0.0.1 that accepts every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = Hung(f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    url.held = held
    yield url
    done.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()
