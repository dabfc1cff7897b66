"""Where the record-local checks of a large curation pass run: slices of the records, on
every core of this machine (or on a Dask cluster, `datagen.curate.partitioned`).

The checks before dedup (`runner.LOCAL`) judge each record alone, so they give the same
verdicts on any cut of the records. A pass over more than `SLICE_ROWS` records runs them slice
by slice: the text views a check builds (lowercased texts, prose, shapes) exist for one slice
at a time, not for a million records at once. From `POOL_MIN_ROWS` records on, the slices (at
least one per worker) go to `curation.workers` forked processes (default: one per CPU this
process may use). A slice's result carries only the verdict columns (and the texts, where PII
masking rewrote them).

Forked, never spawned: a spawned worker imports everything anew and re-runs a script without a
`__main__` guard. Where fork is unsafe (macOS) or not allowed (a daemonic process, such as a
Dask worker), the slices run one after another here.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from datagen.cpus import cpus

SLICE_ROWS = 25_000
POOL_MIN_ROWS = 10_000  # under this, forking costs more than it saves

Mapper = Callable[[Callable[[pd.DataFrame], pd.DataFrame], list[pd.DataFrame]],
                  list[pd.DataFrame]]


def partitions_of(records: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    """Contiguous row slices, as even as the count allows (no empty one)."""
    bounds = np.linspace(0, len(records), max(1, parts) + 1).astype(int)
    return [records.iloc[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            if hi > lo]


def can_fork() -> bool:
    """Fork is safe on Linux only (not macOS), and a daemonic process may not have children."""
    return sys.platform == "linux" and not multiprocessing.current_process().daemon


def _quiet() -> None:
    """A worker ignores Ctrl-C and takes SIGTERM plainly: the process that started it decides
    what an interrupt does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def forked_pool(workers: int) -> ProcessPoolExecutor:
    """Forked, not spawned (see the module docstring), with quiet workers."""
    return ProcessPoolExecutor(workers, initializer=_quiet,
                               mp_context=multiprocessing.get_context("fork"))


def pool_size(rows: int, workers: int | None) -> int:
    """How many forked workers a pass over `rows` records uses (1: none, it runs here)."""
    count = cpus() if workers is None else workers
    return count if count > 1 and rows >= POOL_MIN_ROWS and can_fork() else 1


def slices(rows: int, workers: int | None) -> int:
    """How many slices a pass over `rows` records is cut into: none over `SLICE_ROWS`
    records, and at least one per worker."""
    return max(math.ceil(rows / SLICE_ROWS), pool_size(rows, workers))


def local_mapper(rows: int, workers: int | None) -> Mapper:
    """Slices on `workers` forked processes (None: one per CPU), or here, one by one."""
    count = pool_size(rows, workers)

    def run(fn: Callable[[pd.DataFrame], pd.DataFrame],
            parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
        if count <= 1 or len(parts) <= 1:
            return [fn(p) for p in parts]
        with forked_pool(min(count, len(parts))) as pool:
            return list(pool.map(fn, parts))

    return run
