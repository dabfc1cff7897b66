"""Content-addressed response cache: every paid-for answer is kept and never asked for twice.

SQLite in WAL mode in the run folder, so concurrent writers (threads, processes, Dask workers)
are safe, and a completed call survives a crash or Ctrl-C the instant it returns. The key is a
hash of what determines the answer: endpoint identity, model, messages, sampling params and the
sample index. Keys and API keys never meet: the key is not part of the request we store.
Each answer keeps what it cost when it was paid for, so a budget cap counts the whole run
folder across reruns (`spent_usd`). The Batch API's ids live in the same file (`batches`).

At hundreds of answers a second a commit per answer on the event loop is what limits a run, so
`write` hands answers to one writer thread per cache file, which commits whatever has queued up
in one transaction (group commit) and only then wakes the callers: an answer is still on disk
before any stage sees it, and SIGKILL loses only answers no caller was given yet.

A full disk is one `DatagenError` naming the cache file and the fix (`files.out_of_space`);
the answers committed before it stay readable.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import xxhash

from datagen.errors import DatagenError
from datagen.files import disk_full, out_of_space


def cache_key(identity: str, model: str, messages: list[dict[str, Any]],
              params: dict[str, Any], sample: int = 0) -> str:
    """The address of one answer."""
    payload = json.dumps(
        {"endpoint": identity, "model": model, "messages": messages, "params": params,
         "sample": sample},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return xxhash.xxh3_128_hexdigest(payload.encode())


_INSERT = ("INSERT OR REPLACE INTO responses (key, response, created, cost_usd)"
           " VALUES (?, ?, ?, ?)")
_Row = tuple[str, str, float, float]
_Job = tuple[_Row, asyncio.AbstractEventLoop, asyncio.Future[None]]


class _Writer:
    """One thread that commits queued answers in groups, then resolves their futures on
    their own loops. It exits when idle, so a cache that is never closed leaks no thread."""

    IDLE_S = 2.0
    MAX_GROUP = 512

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: _Job) -> None:
        with self._lock:
            self._jobs.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="datagen-cache-writer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                jobs = [self._jobs.get(timeout=self.IDLE_S)]
            except queue.Empty:
                with self._lock:  # nothing queued while we decide: safe to go
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            while len(jobs) < self.MAX_GROUP:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            error = self._commit([row for row, _, _ in jobs])
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, loop, fut in jobs:
                by_loop.setdefault(loop, []).append(fut)
            for loop, futs in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_resolve, futs, error)
                except RuntimeError:  # that loop is gone (a cancelled run): stored anyway
                    pass

    def _commit(self, rows: list[_Row]) -> BaseException | None:
        """One transaction for the group, on a connection of its own: a cache file moved
        away and made anew between groups gets the answers, not the old file."""
        try:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous=NORMAL")
                with conn:
                    conn.executemany(_INSERT, rows)
            finally:
                conn.close()
        except BaseException as exc:  # the callers raise it; the thread goes on
            return exc
        return None


def _resolve(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futs:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)


_WRITERS: dict[Path, _Writer] = {}
_WRITERS_LOCK = threading.Lock()


def _writer(path: Path) -> _Writer:
    key = path.resolve()
    with _WRITERS_LOCK:
        if key not in _WRITERS:
            _WRITERS[key] = _Writer(key)
        return _WRITERS[key]


class ResponseCache:
    """A SQLite table of answers by key. One connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writer = _writer(self.path)
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            self._local.conn = None
            if disk_full(exc):
                raise out_of_space(self.path) from None
            raise DatagenError(
                f"{self.path}: the LLM answer cache is unreadable ({exc})",
                hint="restore it from a backup, or move it away to start the run without its "
                "cached answers (they would be paid for again)") from None
        columns = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
        if "cost_usd" not in columns:  # a cache written before costs were kept
            conn.execute("ALTER TABLE responses ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0")

    def _open(self, attempts: int = 50) -> sqlite3.Connection:
        """This thread's connection, the table made. Processes opening a new cache at once
        (Dask workers) can get "database is locked" straight away, busy timeout or not, from
        the switch to WAL: that is retried."""
        left = attempts
        while True:
            try:
                conn = self._conn()
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS responses ("
                    " key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL,"
                    " cost_usd REAL NOT NULL DEFAULT 0)"
                )
                return conn
            except sqlite3.OperationalError as exc:
                self._local.conn = None
                left -= 1
                if "locked" not in str(exc) or not left:
                    raise
                time.sleep(0.1)

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
        try:
            self._conn().execute(
                _INSERT, (key, json.dumps(response, ensure_ascii=False), time.time(), cost_usd))
        except (sqlite3.Error, OSError) as exc:
            if disk_full(exc):
                raise out_of_space(self.path) from None
            raise

    async def write(self, key: str, response: dict[str, Any], cost_usd: float = 0.0) -> None:
        """`put`, committed by the writer thread together with other answers; returns once
        the answer is on disk. Cancelling the wait does not cancel the write."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        row = (key, json.dumps(response, ensure_ascii=False), time.time(), cost_usd)
        self._writer.submit((row, loop, fut))
        try:
            await fut
        except (sqlite3.Error, OSError) as exc:
            if disk_full(exc):
                raise out_of_space(self.path) from None
            raise

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
