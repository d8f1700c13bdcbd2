"""Items in flight: which items a run began to price, so that a resume knows which of them
ended with no record (a `kill -9`, Ctrl-C or a crash while their calls were out).

A record is written when an item finishes; a call that was out when the process ended leaves
none, so the resume asks that item again, and a paid API may bill both calls. `DIR/started.txt`
holds the id of each item as its pricing begins (appended, one JSON string a line); the ids it holds
that have no record are the calls that were in flight, which the resume names.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Set
from pathlib import Path

STARTED_FILE = "started.txt"


def unrecorded(directory: Path, recorded: Set[str]) -> list[str]:
    """The ids that `directory`'s last run began to price and never recorded, in order."""
    try:
        text = (directory / STARTED_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return []
    ids = []
    for line in text.split("\n")[:-1]:  # the part after the last newline is a torn line
        try:
            item_id = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item_id, str) and item_id not in recorded:
            ids.append(item_id)
    return list(dict.fromkeys(ids))


def in_flight_note(ids: list[str]) -> str:
    """The line a resume prints about them."""
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return (
        f"{len(ids)} item(s) were being priced when the run ended and left no record ({shown}): "
        f"they are priced again; a pricer that pays per call may have been billed for up to "
        f"{len(ids)} call(s) that the run's cost does not count"
    )


class StartedLog:
    """Appends the ids of items as their pricing begins; safe to call from several threads."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STARTED_FILE
        self._lock = threading.Lock()
        self._fd: int | None = None

    def reset(self) -> None:
        """Start a new log (the run's earlier one was read already)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def add(self, ids: Iterable[str]) -> None:
        data = "".join(json.dumps(i) + "\n" for i in ids).encode("utf-8")
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(self._fd, data)  # one append: whole lines, in order

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def remove(self) -> None:
        """Close and remove the log: every item that began has its record."""
        self.close()
        self.path.unlink(missing_ok=True)
