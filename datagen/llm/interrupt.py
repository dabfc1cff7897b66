"""Ctrl-C that stops LLM requests now, wherever they run.

Prefect's thread task runner runs each stage task on its own event loop in a worker thread,
and the flow waits on those tasks with a blocking call. asyncio's own Ctrl-C handling only
cancels the main thread's task, so requests in worker threads would run on, and be paid for,
until they finished. Every request in flight registers here; `cancel_on_signals()` turns
Ctrl-C into: cancel every registered request on its own loop, refuse new ones, then raise
KeyboardInterrupt in the main thread as usual. SIGTERM does the same. What completed is
already in the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_LOCK = threading.Lock()
_INFLIGHT: dict[asyncio.Task[object], asyncio.AbstractEventLoop] = {}
_STOPPING = threading.Event()


def stopping() -> bool:
    return _STOPPING.is_set()


@contextlib.contextmanager
def in_flight() -> Iterator[None]:
    """Register the current task as one request in flight (refused while stopping)."""
    if _STOPPING.is_set():
        raise asyncio.CancelledError("interrupted: no new LLM requests")
    task = asyncio.current_task()
    if task is None:
        yield
        return
    with _LOCK:
        _INFLIGHT[task] = asyncio.get_running_loop()
    try:
        yield
    finally:
        with _LOCK:
            _INFLIGHT.pop(task, None)


def cancel_all() -> int:
    """Cancel every request in flight, each on its own loop; new ones are refused."""
    _STOPPING.set()
    with _LOCK:
        pending = list(_INFLIGHT.items())
    for task, loop in pending:
        if not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
    return len(pending)


@contextlib.contextmanager
def cancel_on_signals() -> Iterator[None]:
    """Within the block, Ctrl-C (SIGINT) and SIGTERM cancel in-flight requests, then raise
    KeyboardInterrupt: a scheduler's stop is handled like a user's Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel_all()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _STOPPING.clear()
