"""Limits shared by every client of a process: concurrency, requests and tokens per minute, and
the spending cap.

A run makes one `LLMClient` per stage task, and tasks run side by side, so a limit held by one
client would multiply by the number of tasks. The limits here are shared per endpoint (and the
budget per run folder) across clients in a process, including clients on different event
loops in different threads (Prefect's thread task runner gives each task its own loop): state
sits behind thread locks, and waiters are woken on their own loop. With a run folder, the
RPM/TPM buckets and the budget also hold across processes (a Dask cluster, several `datagen`
processes): they lease from the folder's SQLite file (`datagen.llm.quota`). The concurrency
gate stays per process: it protects this process's event loops, not the server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datagen.llm.quota import LEASE_S, QuotaStore, owner_id

_LOCK = threading.Lock()


class TokenBucket:
    """`rate_per_min` units per minute, bursts of up to `burst_s` seconds' worth.

    A request bigger than the bucket is let through once the bucket is full, leaving it in
    debt, so one large request never waits forever."""

    def __init__(self, rate_per_min: float, burst_s: float = 1.0) -> None:
        self.rate = rate_per_min / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self, n: float) -> float:
        """Take `n` now and return 0, or return the seconds to wait before trying again."""
        with self._lock:
            self._refill()
            need = min(n, self.capacity)
            if self._tokens >= need:
                self._tokens -= n
                return 0.0
            return (need - self._tokens) / self.rate

    async def take(self, n: float = 1.0) -> float:
        """Wait until `n` units are available; returns the seconds waited."""
        waited = 0.0
        while (wait := self.try_take(n)) > 0:
            wait = max(wait, 0.001)
            await asyncio.sleep(wait)
            waited += wait
        return waited


class SharedBucket(TokenBucket):
    """A `TokenBucket` of the whole run: this process spends from a local lease and refills
    it from the run folder's bucket (`datagen.llm.quota`), a tenth of a second's worth at a
    time, so most requests never touch the file."""

    def __init__(self, store: QuotaStore, name: str, rate_per_min: float,
                 burst_s: float = 1.0) -> None:
        super().__init__(rate_per_min, burst_s)
        self.store, self.name = store, name
        self._tokens = 0.0  # the local lease; the run's bucket is in the file

    def try_take(self, n: float) -> float:
        with self._lock:
            if self._tokens >= n:
                self._tokens -= n
                return 0.0
            need = n - self._tokens
            want = max(need, min(self.capacity, self.rate * LEASE_S))
            taken, wait = self.store.take(self.name, self.rate, self.capacity, need, want)
            if wait > 0:
                return wait
            self._tokens += taken - n
            return 0.0


@dataclass
class RateLimits:
    """The buckets of one endpoint (either may be None: no limit)."""

    requests: TokenBucket | None = None
    tokens: TokenBucket | None = None

    async def acquire(self, tokens: int) -> float:
        waited = 0.0
        if self.requests is not None:
            waited += await self.requests.take(1)
        if self.tokens is not None:
            waited += await self.tokens.take(tokens)
        return waited


_RATES: dict[tuple[str, int | None, int | None, str], RateLimits] = {}
_GATES: dict[tuple[str, int, bool], SharedGate] = {}


def rate_limits(endpoint: str, rpm: int | None, tpm: int | None,
                folder: Path | None = None) -> RateLimits | None:
    """The buckets for an endpoint identity and its limits: process-wide, and run-wide across
    processes when `folder` (the run folder's SQLite file) is given."""
    if rpm is None and tpm is None:
        return None
    key = (endpoint, rpm, tpm, str(folder))
    with _LOCK:
        if key not in _RATES:
            if folder is None:
                _RATES[key] = RateLimits(TokenBucket(rpm) if rpm else None,
                                         TokenBucket(tpm) if tpm else None)
            else:
                store = QuotaStore(folder)
                _RATES[key] = RateLimits(
                    SharedBucket(store, f"{endpoint}|rpm|{rpm}", rpm) if rpm else None,
                    SharedBucket(store, f"{endpoint}|tpm|{tpm}", tpm) if tpm else None)
        return _RATES[key]


class SharedGate:
    """A semaphore for coroutines on any event loop in any thread: FIFO, and a slot handed to
    a waiter that was cancelled meanwhile is passed on, never lost.

    Its window (`limit`) adapts, AIMD as in TCP, when `adaptive`: an overloaded server's 429 or
    5xx halves it (once per window: answers to requests sent under an older window don't
    count again), and every `limit` answers in a row (about one round trip) widen it by one, up
    to `size` (`llm.max_concurrency`). A run with a too-high concurrency then settles near what
    the server takes instead of retrying in a storm."""

    def __init__(self, size: int, adaptive: bool = True) -> None:
        self.size = size
        self.limit = size
        self.adaptive = adaptive
        self.epoch = 0  # bumped by every back-off
        self.backoffs = 0
        self.lowest = size
        self._used = 0
        self._streak = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        return self._used

    async def __aenter__(self) -> None:
        await self.acquire()

    def slot(self) -> Slot:
        return Slot(self)

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._used < self.limit and not self._waiters:
                self._used += 1
                return
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except asyncio.CancelledError:
            with self._lock:
                waiting = (loop, fut) in self._waiters
                if waiting:
                    self._waiters.remove((loop, fut))
            if not waiting and fut.done() and not fut.cancelled():
                self.release()  # granted just as we were cancelled: pass the slot on
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        with self._lock:
            self._used -= 1
            self._wake()

    def _wake(self) -> None:
        """Hand free slots of the window to waiters (called with the lock held)."""
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        while self._waiters and self._used < self.limit:
            loop, fut = self._waiters.popleft()
            if loop.is_closed():
                continue
            self._used += 1
            if loop is here:  # same loop: no cross-thread wake-up needed
                loop.call_soon(self._grant, fut)
            else:
                loop.call_soon_threadsafe(self._grant, fut)

    def _grant(self, fut: asyncio.Future[None]) -> None:
        if fut.done():  # cancelled before the slot arrived
            self.release()
        else:
            fut.set_result(None)

    def overloaded(self, epoch: int) -> bool:
        """The server refused a request sent in window `epoch`: halve the window, unless it
        was already cut since that request left. True when it was cut now."""
        with self._lock:
            if not self.adaptive or epoch != self.epoch or self.limit == 1:
                return False
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self.epoch += 1
            self.backoffs += 1
            self._streak = 0
            return True

    def answered(self) -> None:
        """One request answered: a full window of answers in a row widens the window."""
        if not self.adaptive or self.limit >= self.size:
            return
        with self._lock:
            self._streak += 1
            if self._streak >= self.limit:
                self._streak = 0
                self.limit += 1
                self._wake()


class Slot:
    """One request's place in a gate, which it can give up while it waits to retry (so a
    window cut by a 429 takes effect at once, not after every sleeping retry returned)."""

    def __init__(self, gate: SharedGate) -> None:
        self.gate = gate
        self.held = False

    async def __aenter__(self) -> Slot:
        await self.resume()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.pause()

    def pause(self) -> None:
        if self.held:
            self.held = False
            self.gate.release()

    async def resume(self) -> None:
        await self.gate.acquire()
        self.held = True


def gate(endpoint: str, max_concurrency: int, adaptive: bool = True) -> SharedGate:
    """The gate that bounds in-flight requests to an endpoint, across the whole process."""
    with _LOCK:
        key = (endpoint, max_concurrency, adaptive)
        if key not in _GATES:
            _GATES[key] = SharedGate(max_concurrency, adaptive)
        return _GATES[key]


class Budget:
    """The spending cap of one run folder: spent (from the cache, across reruns) plus what
    in-flight requests may still cost must stay under the cap.

    With a `store` the cap holds across processes: this process holds a lease (`held`) from
    the run folder's file and reserves from it; when it runs short it leases more, and the
    file says what the whole run has spent and what other processes hold."""

    def __init__(self, cap_usd: float, spent_usd: float = 0.0,
                 store: QuotaStore | None = None, scope: str = "") -> None:
        self.cap = cap_usd
        self.spent = spent_usd
        self.reserved = 0.0
        self.held = 0.0
        self.stopped = False
        self.store, self.scope, self.owner = store, scope, owner_id()
        self._lock = threading.Lock()

    def reserve(self, worst_case_usd: float) -> bool:
        """Hold `worst_case_usd` for one request; False (and stop for good) if it won't fit."""
        with self._lock:
            if self.stopped:
                return False
            if self.store is None:
                fits = self.spent + self.reserved + worst_case_usd <= self.cap
            elif self.reserved + worst_case_usd <= self.held:
                fits = True
            else:
                more = self.reserved + worst_case_usd - self.held
                held, self.spent = self.store.lease(self.scope, self.owner, self.held, more,
                                                    self.cap)
                fits = held >= 0
                if fits:
                    self.held = held
            if not fits:
                self.stopped = True
                return False
            self.reserved += worst_case_usd
            return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved_usd)
            self.spent += actual_usd
            self.held = max(self.reserved, self.held - actual_usd)

    def give_back(self) -> None:
        """Return the unused lease to the run (a stage is done; others may need it)."""
        with self._lock:
            if self.store is not None and self.held > self.reserved:
                self.held = self.reserved
                self.store.hold(self.scope, self.owner, self.held)


_BUDGETS: dict[str, Budget] = {}


def budget_for(folder_key: str, cap_usd: float, spent_usd: Callable[[], float],
               folder: Path | None = None) -> Budget:
    """The process-wide budget of a run folder; `spent_usd()` is read when it is first made.
    With `folder` (its SQLite file) the cap holds for every process on that folder."""
    with _LOCK:
        budget = _BUDGETS.get(folder_key)
        if budget is None or budget.cap != cap_usd:
            store = QuotaStore(folder) if folder is not None else None
            budget = _BUDGETS[folder_key] = Budget(cap_usd, spent_usd(), store, folder_key)
        return budget
