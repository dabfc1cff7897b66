"""Curation over partitions on a cluster: the record-local checks where the data is, then the
checks that compare records, with verdicts identical to `datagen.curate.runner.curate`.

The records are cut into contiguous partitions; every check up to dedup (`runner.LOCAL`)
judges a record by itself and the outside texts alone, so each partition is curated there, on a
worker, the same way a large pass runs its slices on this machine's cores
(`datagen.curate.pool`). The verdicts come back in order and dedup, the published-set check
and the surplus run on all records at once, as one pass would. The client is any object with
Dask's `scatter`, `map` and `gather` (a `distributed.Client`): datagen itself does not import
Dask, which stays an optional extra.

Under `orchestration.task_runner: dask` a run's curation stages are tasks on a Dask worker:
`cluster_client` gives them that worker's client. The screens between rounds spread their
partitions over the whole cluster this way (`on_cluster`, one per worker thread at least); the
curate stage, which holds every record, goes through a Parquet file instead
(`datagen.curate.distributed`), so that dedup is spread over the cluster too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from datagen.config import CurationConfig
from datagen.curate.outside import References
from datagen.curate.pool import POOL_MIN_ROWS, SLICE_ROWS
from datagen.curate.runner import curate
from datagen.similarity.spread import Cluster


def cluster_mapper(client: Cluster) -> Callable[..., list[pd.DataFrame]]:
    def run(fn: Callable[[pd.DataFrame], pd.DataFrame],
            parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
        return list(client.gather(client.map(fn, client.scatter(parts), pure=False)))

    return run


def curate_partitioned(records: pd.DataFrame, cfg: CurationConfig, client: Cluster, *,
                       parts: int, refs: References | None = None,
                       targets: dict[str, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """`curate(records, cfg, ...)`, with the record-local checks run on `parts` partitions."""
    return curate(records, cfg, refs=refs, targets=targets, seed=seed,
                  mapper=cluster_mapper(client), parts=parts)


@contextlib.contextmanager
def cluster_client(rows: int) -> Iterator[Cluster | None]:
    """The cluster's client for a pass over `rows` records run by a task on a Dask worker
    (the task secedes from its thread meanwhile, so the cluster's threads take the work);
    None off a cluster, without Dask, or under `POOL_MIN_ROWS` records, where shipping
    partitions costs more than it saves."""
    if rows < POOL_MIN_ROWS:
        yield None
        return
    try:
        from distributed import get_worker, worker_client
        get_worker()
    except (ImportError, ValueError):  # not installed, or not in a task on a Dask worker
        yield None
        return
    with worker_client() as client:
        yield client


@contextlib.contextmanager
def on_cluster(rows: int) -> Iterator[dict[str, Any]]:
    """`curate`'s `mapper` and `parts` for a pass over `rows` records run by a task on a Dask
    worker: the cluster's worker threads take its partitions, one per thread at least. Empty
    (curate here) where `cluster_client` gives none."""
    with cluster_client(rows) as client:
        if client is None:
            yield {}
            return
        threads = sum(client.nthreads().values())
        yield {"mapper": cluster_mapper(client),
               "parts": max(threads, -(-rows // SLICE_ROWS))}
