"""Content-addressed response cache: every paid-for answer is kept and never asked for twice.

SQLite in WAL mode in the run folder, so concurrent writers (threads, processes, Dask workers)
are safe, and a completed call survives a crash or Ctrl-C the instant it returns. The key is a
hash of what determines the answer: endpoint identity, model, messages, sampling params and the
sample index. Keys and API keys never meet: the key is not part of the request we store.
Each answer keeps what it cost when it was paid for, so a budget cap counts the whole run
folder across reruns (`spent_usd`). The Batch API's ids live in the same file (`batches`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import xxhash

from datagen.errors import DatagenError


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
        try:
            conn = self._conn()
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL,"
                " cost_usd REAL NOT NULL DEFAULT 0)"
            )
        except sqlite3.DatabaseError as exc:
            self._local.conn = None
            raise DatagenError(
                f"{self.path}: the LLM answer cache is unreadable ({exc})",
                hint="restore it from a backup, or move it away to start the run without its "
                "cached answers (they would be paid for again)") from None
        columns = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
        if "cost_usd" not in columns:  # a cache written before costs were kept
            conn.execute("ALTER TABLE responses ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0")

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

    def put(self, key: str, response: dict[str, Any], cost_usd: float = 0.0) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO responses (key, response, created, cost_usd)"
            " VALUES (?, ?, ?, ?)",
            (key, json.dumps(response, ensure_ascii=False), time.time(), cost_usd),
        )

    def has(self, key: str) -> bool:
        return self._conn().execute(
            "SELECT 1 FROM responses WHERE key = ?", (key,)
        ).fetchone() is not None

    def spent_usd(self) -> float:
        """What every answer in this cache cost when it was paid for (reruns cost nothing)."""
        return float(self._conn().execute(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM responses").fetchone()[0])

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
