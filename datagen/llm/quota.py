"""Limits that hold for a whole run, however many processes it runs in.

On a Dask cluster (`orchestration.task_runner: dask`) or in several `datagen` processes on one
run folder, limits kept in each process's memory would multiply by the number of processes.
The run folder already has a file every process opens, with locking that works across
processes: the SQLite response cache. Its `quota_buckets` table holds the RPM/TPM token
buckets and `quota_leases` the share of `llm.max_cost_usd` each process holds for its requests
in flight; a short `BEGIN IMMEDIATE` transaction serialises the processes.

Going to the file for every request would cost more than the request, so a process leases in
chunks: up to a tenth of a second's worth of requests or tokens, and a quarter of what is left
of the budget. What a process leased and did not use is lost to the run (rates) or given back
when its stage's client closes (budget): the limits can be undershot, never exceeded. The
lease of a process that died is dropped by the next process that leases.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path

LEASE_S = 0.1  # a rate lease: at most this many seconds' worth of the rate
BUDGET_SHARE = 0.25  # a budget lease: at most this share of what is left
STALE_S = 3600.0  # a lease not renewed for this long belongs to a process that is gone

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS quota_buckets ("
    " name TEXT PRIMARY KEY, tokens REAL NOT NULL, stamp REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS quota_leases ("
    " owner TEXT PRIMARY KEY, scope TEXT NOT NULL, held REAL NOT NULL, stamp REAL NOT NULL)",
)


class QuotaStore:
    """The quota tables of one run folder's SQLite file. One connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def _transaction(self) -> _Immediate:
        return _Immediate(self._conn())

    def take(self, name: str, rate_per_s: float, capacity: float, need: float,
             want: float) -> tuple[float, float]:
        """Take at least `need` (at most `want`) from the bucket `name`, refilled at
        `rate_per_s` up to `capacity`: returns (taken, 0), or (0, seconds to wait). A need
        larger than the bucket is let through once it is full, leaving it in debt."""
        with self._transaction() as conn:
            now = time.time()  # inside the lock: stamps only go forward
            row = conn.execute("SELECT tokens, stamp FROM quota_buckets WHERE name = ?",
                               (name,)).fetchone()
            tokens = capacity if row is None else min(
                capacity, row[0] + max(0.0, now - row[1]) * rate_per_s)
            if tokens >= min(need, capacity):
                taken = max(need, min(want, tokens))
                tokens -= taken
                wait = 0.0
            else:
                taken, wait = 0.0, (min(need, capacity) - tokens) / rate_per_s
            conn.execute("INSERT OR REPLACE INTO quota_buckets (name, tokens, stamp) "
                         "VALUES (?, ?, ?)", (name, tokens, now))
        return taken, wait

    def lease(self, scope: str, owner: str, held: float, more: float, cap: float) -> tuple[
            float, float]:
        """Raise `owner`'s lease from `held` by at least `more`, up to a share of what is left
        under `cap` after everything spent in this file and the other live leases of `scope`.
        Returns (the new lease, or -1 when `more` does not fit; what has been spent)."""
        with self._transaction() as conn:
            now = time.time()
            self._drop_dead(conn, now)
            spent = float(conn.execute(
                "SELECT COALESCE(SUM(cost_usd), 0) FROM responses").fetchone()[0])
            others = float(conn.execute(
                "SELECT COALESCE(SUM(held), 0) FROM quota_leases WHERE scope = ? AND owner != ?",
                (scope, owner)).fetchone()[0])
            left = cap - spent - others - held
            if more > left + 1e-12:
                conn.execute("UPDATE quota_leases SET held = ?, stamp = ? WHERE owner = ?",
                             (held, now, owner))
                return -1.0, spent
            new = held + max(more, left * BUDGET_SHARE)
            conn.execute("INSERT OR REPLACE INTO quota_leases (owner, scope, held, stamp) "
                         "VALUES (?, ?, ?, ?)", (owner, scope, new, now))
        return new, spent

    def hold(self, scope: str, owner: str, held: float) -> None:
        """Shrink `owner`'s lease to `held` (what its requests in flight still need)."""
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO quota_leases (owner, scope, held, stamp) "
                         "VALUES (?, ?, ?, ?)", (owner, scope, held, time.time()))

    @staticmethod
    def _drop_dead(conn: sqlite3.Connection, now: float) -> None:
        """Forget leases of processes on this host that are gone, and stale ones anywhere."""
        host = socket.gethostname()
        for (owner,) in conn.execute("SELECT owner FROM quota_leases").fetchall():
            where, _, rest = owner.partition("|")
            pid = int(rest.split("|", 1)[0]) if rest.split("|", 1)[0].isdigit() else None
            if where == host and pid is not None and pid != os.getpid() and not _alive(pid):
                conn.execute("DELETE FROM quota_leases WHERE owner = ?", (owner,))
        conn.execute("DELETE FROM quota_leases WHERE stamp < ?", (now - STALE_S,))


def owner_id() -> str:
    """A lease owner: this host and process, and a nonce (pids are reused)."""
    return f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Immediate:
    """`BEGIN IMMEDIATE` ... `COMMIT` (or `ROLLBACK`): takes the write lock up front, so two
    processes never read the same bucket and both spend it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
