"""Memory handed back to the system: a stage over a million records, or a long run of
tensor batches, frees memory whose pages the process would otherwise keep.

glibc raises its mmap threshold after a large block is freed, so later large blocks (a
batch's activations, a slice's results) come from the heap, where they fragment it: the
process grows although what it holds does not. `release_memory` trims the heap
(`malloc_trim`, which also gives back free pages inside it) and Arrow's pool.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") if sys.platform == "linux" else None
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


@contextmanager
def memory_handed_back() -> Iterator[None]:
    """`release_memory` once the work inside is done: a stage over a million records frees
    GBs of small objects whose pages the process would keep (~1 GB after curation)."""
    try:
        yield
    finally:
        gc.collect()  # what cycles hold goes too (a few seconds at most, once a stage)
        release_memory()


def release_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's `malloc_trim`; nothing
    elsewhere). The slices' results arrive as many small objects; once merged and let go,
    their pages stay with this process unless trimmed (~0.4 GB at 1M records)."""
    pyarrow.default_memory_pool().release_unused()  # Arrow's own allocator keeps pages too
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
