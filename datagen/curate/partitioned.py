"""Curation over partitions on a cluster: the record-local checks where the data is, then the
checks that compare records, with verdicts identical to `datagen.curate.runner.curate`.

The records are cut into contiguous partitions; every check up to dedup (`runner.LOCAL`)
judges a record by itself and the outside texts alone, so each partition is curated there, on a
worker. The judged partitions come back in their order and `runner.curate_rest` runs dedup,
the published-set check and the surplus on all of them at once, as one pass would. The client
is any object with Dask's `scatter`, `map` and `gather` (a `distributed.Client`): datagen itself
does not import Dask, which stays an optional extra.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from datagen.config import CurationConfig
from datagen.curate.outside import References
from datagen.curate.runner import LOCAL, curate, curate_rest


class Cluster(Protocol):
    """The part of `distributed.Client` this module uses."""

    def scatter(self, data: Any) -> Any: ...
    def map(self, func: Any, *iterables: Any, **kwargs: Any) -> Any: ...
    def gather(self, futures: Any) -> Any: ...


def _local(part: pd.DataFrame, cfg: CurationConfig, refs: References | None,
           seed: int) -> pd.DataFrame:
    return curate(part, cfg, refs=refs, seed=seed, checks=LOCAL)


def partitions_of(records: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    """Contiguous row slices, as even as the count allows (no empty one)."""
    bounds = np.linspace(0, len(records), max(1, parts) + 1).astype(int)
    return [records.iloc[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            if hi > lo]


def curate_partitioned(records: pd.DataFrame, cfg: CurationConfig, client: Cluster, *,
                       parts: int, refs: References | None = None,
                       targets: dict[str, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """`curate(records, cfg, ...)`, with the record-local checks run on `parts` partitions."""
    if records.empty:
        return curate(records, cfg, refs=refs, targets=targets, seed=seed)
    futures = client.map(_local, client.scatter(partitions_of(records, parts)), cfg=cfg,
                         refs=refs, seed=seed, pure=False)
    judged = pd.concat(client.gather(futures))
    return curate_rest(judged, cfg, refs=refs, targets=targets, seed=seed)
