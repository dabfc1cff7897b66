"""Exact and near-duplicate detection; every record gets a `dup_cluster` id.

Exact: xxh3 of the normalised text (NFKC, casefold, punctuation and spacing dropped). Near:
rapidfuzz `fuzz.ratio` on token-sorted text (sorted once per text). Which pairs are scored
depends on size: up to `ALLPAIRS_MAX` texts (or at thresholds under `LSH_TUNED_FOR`) every pair
is scored with `process.cdist` in row blocks (exact, bounded memory); above it, MinHash LSH
(`datagen.minhash`) proposes candidate pairs and only those are scored, so a million texts cost
minutes, not weeks. Clusters are connected components; the first record of a cluster stays
kept, the rest are marked, never deleted.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xxhash
from rapidfuzz import fuzz, process

from datagen.minhash import LSHParams, bucket_pairs, lsh_keys
from datagen.records import DropReason, drop
from datagen.text import normalize, token_sort

BLOCK_ROWS = 2048
VERIFY_CHUNK = 500_000
# The default LSH bands are tuned for ratio >= 90 (recall 0.999 vs all pairs); at ratio 80 they
# find only 75% of pairs (32x3 bands: 98%, many more candidates). So `auto` stays exact below
# 90, as the split's grouping and leakage check (ratio 80) need.
LSH_TUNED_FOR = 90.0
ALLPAIRS_MAX = 5_000  # all pairs at 20k measured 86 s on 2 shared cores; MinHash ~2 s
Method = Literal["auto", "allpairs", "minhash"]


class UnionFind:
    """Disjoint sets over positions 0..n-1; the smallest position of a set is its root."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index (earlier record) is the root: it is the one kept
            self.parent[max(ra, rb)] = min(ra, rb)


def exact_key(*texts: str | None) -> str:
    return xxhash.xxh3_64_hexdigest("\x1f".join(normalize(t) for t in texts).encode())


def _allpairs(prepared: list[str], threshold: float) -> np.ndarray:
    found: list[np.ndarray] = []
    for start in range(0, len(prepared), BLOCK_ROWS):
        block = prepared[start:start + BLOCK_ROWS]
        # only columns after the block's first row: each pair is scored once or twice, not n^2
        scores = process.cdist(block, prepared[start:], scorer=fuzz.ratio,
                               score_cutoff=threshold, dtype=np.uint8, workers=-1)
        rows, cols = np.nonzero(scores)
        i, j = rows + start, cols + start
        keep = i < j
        found.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def _verified(prepared: list[str], cand: np.ndarray, threshold: float) -> np.ndarray:
    """The candidate pairs whose token-sorted texts score >= threshold."""
    if len(cand) == 0:
        return cand
    kept = []
    for lo in range(0, len(cand), VERIFY_CHUNK):  # chunks: the string lists stay small
        part = cand[lo:lo + VERIFY_CHUNK]
        scores = process.cpdist([prepared[i] for i in part[:, 0]],
                                [prepared[j] for j in part[:, 1]], scorer=fuzz.ratio, workers=-1)
        kept.append(part[scores >= threshold])
    return np.concatenate(kept)


def prepared_pairs(prepared: list[str], threshold: float, *, method: Method = "auto",
                   allpairs_max: int = ALLPAIRS_MAX,
                   lsh: LSHParams | None = None) -> np.ndarray:
    """Pairs (i < j), shape (m, 2), of already token-sorted texts scoring >= threshold."""
    if not prepared:
        return np.zeros((0, 2), dtype=np.int64)
    small = len(prepared) <= allpairs_max
    if method == "allpairs" or (method == "auto" and (small or threshold < LSH_TUNED_FOR)):
        return _allpairs(prepared, threshold)
    lsh = lsh or (LSHParams() if threshold >= LSH_TUNED_FOR else LSHParams(bands=32, rows=3))
    return _verified(prepared, bucket_pairs(*lsh_keys(prepared, lsh), lsh), threshold)


def near_pairs(texts: list[str], threshold: float, *, method: Method = "auto",
               allpairs_max: int = ALLPAIRS_MAX) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose token-sorted texts score >= threshold with `fuzz.ratio`."""
    prepared = [token_sort(t) for t in texts]
    pairs = prepared_pairs(prepared, threshold, method=method, allpairs_max=allpairs_max)
    return sorted((int(i), int(j)) for i, j in pairs)


def roots_of(n: int, pairs: np.ndarray) -> list[int]:
    """Connected components: the smallest index of each index's component."""
    uf = UnionFind(n)
    for i, j in pairs.tolist():
        uf.union(i, j)
    return [uf.find(i) for i in range(n)]


def clusters(texts: list[str], threshold: float, *, method: Method = "auto",
             allpairs_max: int = ALLPAIRS_MAX) -> list[int]:
    """Cluster root index per text (a text's own index when it has no near-duplicate)."""
    prepared = [token_sort(t) for t in texts]
    return roots_of(len(texts), prepared_pairs(prepared, threshold, method=method,
                                               allpairs_max=allpairs_max))


def _live(df: pd.DataFrame) -> pd.Index:
    return df.index[df["keep"].fillna(False).astype(bool)]


def dedup_exact(df: pd.DataFrame, columns: tuple[str, ...], reason: str) -> int:
    """Drop later kept records whose normalised `columns` equal an earlier kept one's; the
    duplicates' `dup_cluster` is the id of the record they repeat."""
    live = _live(df)
    if len(live) == 0:
        return 0
    parts = [df.loc[live, c].tolist() for c in columns]
    keys = pd.Series([xxhash.xxh3_64_intdigest("\x1f".join(normalize(t) for t in row).encode())
                      for row in zip(*parts, strict=True)], index=live)
    later = keys.duplicated(keep="first")
    if later.any():
        first_id = pd.Series(df.loc[live, "id"].to_numpy(), index=keys.to_numpy())
        first_id = first_id[~first_id.index.duplicated(keep="first")]
        dups = live[later.to_numpy()]
        df.loc[dups, "dup_cluster"] = first_id.reindex(keys[dups].to_numpy()).to_numpy()
    return drop(df, later.reindex(df.index, fill_value=False), reason)


def dedup_near(df: pd.DataFrame, column: str, threshold: float, *, method: Method = "auto",
               allpairs_max: int = ALLPAIRS_MAX) -> int:
    """Assign `dup_cluster` to kept records and drop all but the first of each cluster.

    Records dropped earlier as exact duplicates follow the cluster of the record they repeat;
    any other record is its own cluster."""
    live = _live(df)
    roots = clusters(df.loc[live, column].fillna("").tolist(), threshold, method=method,
                     allpairs_max=allpairs_max)
    ids = df.loc[live, "id"].tolist()
    cluster_of = dict(zip(ids, (ids[r] for r in roots), strict=True))
    assigned = []
    for current, own in zip(df["dup_cluster"].astype(object), df["id"].astype(object),
                            strict=True):
        if own in cluster_of:
            assigned.append(cluster_of[own])
        elif isinstance(current, str):  # an exact duplicate: follow the record it repeats
            assigned.append(cluster_of.get(current, current))
        else:
            assigned.append(own)
    df["dup_cluster"] = pd.array(assigned, dtype="string")
    later = pd.Series([r != i for i, r in enumerate(roots)], index=live, dtype=bool)
    return drop(df, later.reindex(df.index, fill_value=False), DropReason.NEAR_DUPLICATE)


def reference_matches(texts: list[str], references: list[str], threshold: float, *,
                      allpairs_max: int = ALLPAIRS_MAX) -> np.ndarray:
    """Per text, whether it equals (normalised) or is a near-duplicate of any reference.

    Small problems are scored text x reference with cdist; large ones run LSH over the
    references and texts together and keep the cross pairs."""
    hit = np.zeros(len(texts), dtype=bool)
    if not texts or not references:
        return hit
    known = {exact_key(r) for r in references}
    hit |= np.fromiter((exact_key(t) in known for t in texts), dtype=bool, count=len(texts))
    queries = [token_sort(t) for t in texts]
    refs = [token_sort(r) for r in references]
    if len(queries) * len(refs) <= allpairs_max ** 2 // 2:
        for start in range(0, len(queries), BLOCK_ROWS):
            scores = process.cdist(queries[start:start + BLOCK_ROWS], refs, scorer=fuzz.ratio,
                                   score_cutoff=threshold, dtype=np.uint8, workers=-1)
            hit[start:start + BLOCK_ROWS] |= scores.max(axis=1) > 0
        return hit
    pairs = prepared_pairs(refs + queries, threshold, method="minhash")
    cross = pairs[(pairs[:, 0] < len(refs)) & (pairs[:, 1] >= len(refs))]
    hit[cross[:, 1] - len(refs)] = True
    return hit


def overlap_with(df: pd.DataFrame, column: str, references: list[str], threshold: float,
                 reason: str) -> int:
    """Drop kept records whose `column` is a (near-)duplicate of any reference text."""
    if not references:
        return 0
    live = _live(df)
    if len(live) == 0:
        return 0
    hit = reference_matches(df.loc[live, column].fillna("").tolist(), references, threshold)
    return drop(df, pd.Series(hit, index=live).reindex(df.index, fill_value=False), reason)
