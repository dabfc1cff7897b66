"""Exact and near-duplicate instructions: one check that keeps the best member of each cluster.

Exact: xxh3 of the normalised text (NFKC, casefold, punctuation and spacing dropped). Near:
rapidfuzz `fuzz.ratio` on token-sorted text (sorted once per text). Which pairs are scored
depends on size: up to `allpairs_max` texts (or at thresholds under `LSH_TUNED_FOR`) every pair
is scored with `process.cdist` in row blocks (exact, bounded memory); above it, MinHash LSH
(`datagen.curate.minhash`) proposes candidate pairs and only those are scored.

Clusters are connected components of exact and near pairs. In each cluster the best member
stays kept (`datagen.curate.quality`: an answered record before an unanswered one, then the
judge score, then the heuristic quality score, then the lowest id) and every other member is
dropped: `exact_duplicate` when its text equals the winner's, else `near_duplicate`, with
`lost_to` naming the winner. Every member's `dup_cluster` is the winner's id. Nothing is
deleted. During generation, unanswered copies of an answered record lose, so no copy is paid
for twice; on a corpus where several models answer one instruction, the best answer stays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xxhash
from rapidfuzz import fuzz, process

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.minhash import LSHParams, bucket_pairs, lsh_keys
from datagen.curate.quality import best_first
from datagen.curate.reasons import DropReason
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


def verified(prepared_a: list[str], prepared_b: list[str], cand: np.ndarray,
             threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (index into a, index into b) scoring >= threshold, and scores."""
    if len(cand) == 0:
        return cand, np.zeros(0, dtype=np.float64)
    kept, kept_scores = [], []
    for lo in range(0, len(cand), VERIFY_CHUNK):  # chunks: the string lists stay small
        part = cand[lo:lo + VERIFY_CHUNK]
        scores = process.cpdist([prepared_a[i] for i in part[:, 0]],
                                [prepared_b[j] for j in part[:, 1]], scorer=fuzz.ratio,
                                workers=-1)
        ok = scores >= threshold
        kept.append(part[ok])
        kept_scores.append(scores[ok])
    return np.concatenate(kept), np.concatenate(kept_scores)


def lsh_for(threshold: float) -> LSHParams:
    return LSHParams() if threshold >= LSH_TUNED_FOR else LSHParams(bands=32, rows=3)


def prepared_pairs(prepared: list[str], threshold: float, *, method: Method = "auto",
                   allpairs_max: int = ALLPAIRS_MAX,
                   lsh: LSHParams | None = None) -> np.ndarray:
    """Pairs (i < j), shape (m, 2), of already token-sorted texts scoring >= threshold."""
    if not prepared:
        return np.zeros((0, 2), dtype=np.int64)
    small = len(prepared) <= allpairs_max
    if method == "allpairs" or (method == "auto" and (small or threshold < LSH_TUNED_FOR)):
        return _allpairs(prepared, threshold)
    lsh = lsh or lsh_for(threshold)
    return verified(prepared, prepared, bucket_pairs(*lsh_keys(prepared, lsh), lsh),
                    threshold)[0]


def near_pairs(texts: list[str], threshold: float, *, method: Method = "auto",
               allpairs_max: int = ALLPAIRS_MAX) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose token-sorted texts score >= threshold with `fuzz.ratio`."""
    prepared = [token_sort(t) for t in texts]
    pairs = prepared_pairs(prepared, threshold, method=method, allpairs_max=allpairs_max)
    return sorted((int(i), int(j)) for i, j in pairs)


def roots_of(n: int, pairs: np.ndarray | list[tuple[int, int]]) -> list[int]:
    """Connected components: the smallest index of each index's component."""
    uf = UnionFind(n)
    for i, j in (pairs.tolist() if isinstance(pairs, np.ndarray) else pairs):
        uf.union(i, j)
    return [uf.find(i) for i in range(n)]


def clusters(texts: list[str], threshold: float, *, method: Method = "auto",
             allpairs_max: int = ALLPAIRS_MAX) -> list[int]:
    """Cluster root index per text (a text's own index when it has no near-duplicate)."""
    prepared = [token_sort(t) for t in texts]
    return roots_of(len(texts), prepared_pairs(prepared, threshold, method=method,
                                               allpairs_max=allpairs_max))


def _dedup(ctx: Context) -> Verdicts:
    frame, cfg = ctx.frame, ctx.cfg.dedup
    n = len(frame)
    texts = ctx.texts.instruction.tolist()
    keys = [exact_key(t) for t in texts]
    # exact copies join first (a dict per key), then near pairs among distinct texts
    first_of: dict[str, int] = {}
    uf = UnionFind(n)
    distinct: list[int] = []
    for pos, key in enumerate(keys):
        if key in first_of:
            uf.union(first_of[key], pos)
        else:
            first_of[key] = pos
            distinct.append(pos)
    prepared = [token_sort(texts[p]) for p in distinct]
    for i, j in prepared_pairs(prepared, cfg.near_threshold, method=cfg.method,
                               allpairs_max=cfg.allpairs_max).tolist():
        uf.union(distinct[i], distinct[j])
    roots = np.array([uf.find(p) for p in range(n)])
    order = best_first(frame, ctx.texts, ctx.scores)  # positions, best record first
    winner_of_root: dict[int, int] = {}
    for pos in order:
        winner_of_root.setdefault(int(roots[pos]), int(pos))
    winner = np.array([winner_of_root[int(r)] for r in roots])
    ids = frame["id"].astype(str).to_numpy()
    reason = pd.Series(None, index=frame.index, dtype="object")
    lost = winner != np.arange(n)
    same_text = np.array([keys[p] == keys[w] for p, w in enumerate(winner)])
    reason[lost & same_text] = str(DropReason.EXACT_DUPLICATE)
    reason[lost & ~same_text] = str(DropReason.NEAR_DUPLICATE)
    lost_to = pd.Series(np.where(lost, ids[winner], None), index=frame.index, dtype="object")
    cluster = pd.Series(ids[winner], index=frame.index, dtype="string")
    return Verdicts(reason, columns={"dup_cluster": cluster}, lost_to=lost_to)


CHECK = Check(
    name="dedup", reasons=(DropReason.EXACT_DUPLICATE, DropReason.NEAR_DUPLICATE),
    inputs=("id", "instruction", "response", "finish_reason", "scores", "language_score"),
    section="dedup", level="instruction", run=_dedup,
)
