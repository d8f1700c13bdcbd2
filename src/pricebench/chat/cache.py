"""A response cache on disk (SQLite), so that asking the same question twice costs nothing.

The key is a hash of the provider, the model and the full request body (every parameter that
can change the answer). API keys travel in HTTP headers, never in the request body, so they are
never part of a key nor of a stored response.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import platformdirs

from pricebench.errors import PricerError

CACHE_ENV = "PRICEBENCH_CACHE"


def default_cache_path() -> Path:
    """`$PRICEBENCH_CACHE`, else responses.sqlite in the user's cache directory for pricebench."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(platformdirs.user_cache_dir("pricebench")) / "responses.sqlite"


def cache_key(provider: str, model: str, request: dict[str, Any]) -> str:
    """A stable hash of what was asked: same provider, model and request -> same key."""
    body = json.dumps(
        {"provider": provider, "model": model, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


class ResponseCache:
    """Raw API responses by `cache_key`, in one SQLite file. Safe to share between threads."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses"
                " (key TEXT PRIMARY KEY, response TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as error:
            raise PricerError(f"response cache {self.path}: {error}") from None

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT response FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, response: dict[str, Any]) -> None:
        text = json.dumps(response, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, response) VALUES (?, ?)", (key, text)
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"
