"""Content-addressed response cache: every paid-for answer is kept and never asked for twice.

SQLite in WAL mode in the run folder, so concurrent writers (threads, processes, Dask workers)
are safe, and a completed call survives a crash or Ctrl-C the instant it returns. The key is a
hash of what determines the answer: endpoint identity, model, messages, sampling params and the
sample index. Keys and API keys never meet: the key is not part of the request we store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import xxhash


def cache_key(identity: str, model: str, messages: list[dict[str, Any]],
              params: dict[str, Any], sample: int = 0) -> str:
    """The address of one answer."""
    payload = json.dumps(
        {"endpoint": identity, "model": model, "messages": messages, "params": params,
         "sample": sample},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return xxhash.xxh3_128_hexdigest(payload.encode())


class ResponseCache:
    """A SQLite table of answers by key. One connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._conn().execute(
            "SELECT response FROM responses WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, response: dict[str, Any]) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO responses (key, response, created) VALUES (?, ?, ?)",
            (key, json.dumps(response, ensure_ascii=False), time.time()),
        )

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
