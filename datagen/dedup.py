"""Exact and near-duplicate detection; every kept record gets a `dup_cluster` id.

Exact: xxh3 of the normalised text. Near: rapidfuzz `fuzz.ratio` on token-sorted text, all
pairs with `process.cdist` in row blocks (bounded memory). Clusters are connected components;
the first kept record of a cluster stays kept, the rest are marked, never deleted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xxhash
from rapidfuzz import fuzz, process

from datagen.records import DropReason, drop
from datagen.text import normalize, token_sort

BLOCK_ROWS = 2048


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index (earlier record) is the root: it is the one kept
            self.parent[max(ra, rb)] = min(ra, rb)


def exact_key(*texts: str | None) -> str:
    return xxhash.xxh3_64_hexdigest("\x1f".join(normalize(t) for t in texts).encode())


def near_pairs(texts: list[str], threshold: float) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose token-sorted texts score >= threshold with `fuzz.ratio`."""
    prepared = [token_sort(t) for t in texts]
    pairs: list[tuple[int, int]] = []
    n = len(prepared)
    for start in range(0, n, BLOCK_ROWS):
        block = prepared[start:start + BLOCK_ROWS]
        scores = process.cdist(
            block, prepared, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8,
            workers=-1,
        )
        rows, cols = np.nonzero(scores)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((i, c))
    return pairs


def clusters(texts: list[str], threshold: float) -> list[int]:
    """Cluster root index per text (a text's own index when it has no near-duplicate)."""
    uf = _UnionFind(len(texts))
    for i, j in near_pairs(texts, threshold):
        uf.union(i, j)
    return [uf.find(i) for i in range(len(texts))]


def dedup_exact(df: pd.DataFrame, columns: tuple[str, ...], reason: str) -> int:
    """Drop later kept records whose normalised `columns` equal an earlier kept one's."""
    live = df["keep"].fillna(False).astype(bool)
    keys = pd.Series(
        [exact_key(*(row[c] for c in columns)) for _, row in df.loc[live, list(columns)].iterrows()],
        index=df.index[live], dtype="string",
    )
    return drop(df, keys.duplicated(keep="first").reindex(df.index, fill_value=False), reason)


def dedup_near(df: pd.DataFrame, column: str, threshold: float) -> int:
    """Assign `dup_cluster` to kept records and drop all but the first of each cluster."""
    live_idx = df.index[df["keep"].fillna(False).astype(bool)]
    texts = df.loc[live_idx, column].fillna("").tolist()
    roots = clusters(texts, threshold)
    ids = df.loc[live_idx, "id"].tolist()
    df.loc[live_idx, "dup_cluster"] = [ids[r] for r in roots]
    later = pd.Series([r != i for i, r in enumerate(roots)], index=live_idx)
    return drop(df, later.reindex(df.index, fill_value=False), DropReason.NEAR_DUPLICATE)


def overlap_with(df: pd.DataFrame, column: str, references: list[str], threshold: float,
                 reason: str) -> int:
    """Drop kept records whose `column` is a near-duplicate of any reference text."""
    if not references:
        return 0
    live_idx = df.index[df["keep"].fillna(False).astype(bool)]
    if len(live_idx) == 0:
        return 0
    queries = [token_sort(t) for t in df.loc[live_idx, column].fillna("")]
    refs = [token_sort(t) for t in references]
    scores = process.cdist(queries, refs, scorer=fuzz.ratio, score_cutoff=threshold,
                           dtype=np.uint8, workers=-1)
    hit = pd.Series(scores.max(axis=1) > 0, index=live_idx)
    return drop(df, hit.reindex(df.index, fill_value=False), reason)
