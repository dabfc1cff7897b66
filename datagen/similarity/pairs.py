"""Similarity machinery shared by dedup, the reference checks, the split and the strategies:
exact keys, near-duplicate pairs, connected components, and an index of reference texts.

Exact: xxh3 of the normalised text (NFKC, casefold, punctuation and spacing dropped). Near:
rapidfuzz `fuzz.ratio` on token-sorted text (sorted once per text). Which pairs are scored
depends on size: up to `allpairs_max` texts (or at thresholds under `LSH_TUNED_FOR`) every pair
is scored with `process.cdist` in row blocks (exact, bounded memory); above it, MinHash LSH
(`datagen.similarity.minhash`) proposes candidate pairs and only those are scored.

`ReferenceIndex` answers "which reference text is this a copy of?": an exact match of the
normalised text, else the most similar reference at ratio >= threshold (all pairs when
small, LSH candidates verified when large), and "does it share a word n-gram with one?"
(GPT-3 style decontamination; a text shorter than n words counts as one n-gram).
"""

from __future__ import annotations

import functools
import threading
from typing import Literal

import numpy as np
import xxhash
from rapidfuzz import fuzz, process

from datagen.similarity.minhash import (
    LSHParams,
    Sketch,
    bucket_pairs,
    sketch,
)
from datagen.text import normalize, token_sort, word_ngrams

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


def _cross(rows: list[str], cols: list[str], threshold: float) -> np.ndarray:
    """Pairs (row, col) of `rows` x `cols` scoring >= threshold, in row blocks (row-major)."""
    found: list[np.ndarray] = []
    for start in range(0, len(rows), BLOCK_ROWS):
        scores = process.cdist(rows[start:start + BLOCK_ROWS], cols, scorer=fuzz.ratio,
                               score_cutoff=threshold, dtype=np.uint8, workers=-1)
        i, j = np.nonzero(scores)
        found.append(np.stack([i + start, j], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def _allpairs(prepared: list[str], threshold: float) -> np.ndarray:
    found: list[np.ndarray] = []
    for start in range(0, len(prepared), BLOCK_ROWS):
        # only columns after the block's first row: each pair is scored once or twice, not n^2
        ij = _cross(prepared[start:start + BLOCK_ROWS], prepared[start:], threshold) + start
        found.append(ij[ij[:, 0] < ij[:, 1]])
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


class PairMemo:
    """All-pairs results kept between calls on a growing set of texts, for dedup between
    generation rounds: a call scores only its texts not seen before, against every text seen,
    and gives exactly what `prepared_pairs(..., method="allpairs")` gives (pairs i < j, sorted).
    Holds at most `max_texts` texts, then starts afresh; one threshold at a time."""

    def __init__(self, max_texts: int = 50_000) -> None:
        self.max_texts = max_texts
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.texts: list[str] = []  # every text seen, by id
        self.ids: dict[str, int] = {}
        self.pairs: list[np.ndarray] = []  # (id, id) pairs, lower id first

    def _learn(self, new: list[str]) -> None:
        base = len(self.texts)
        found = []
        if base:  # new x seen
            ij = _cross(new, self.texts, self.threshold or 0.0)
            found.append(np.stack([ij[:, 1], ij[:, 0] + base], axis=1))
        inner = _allpairs(new, self.threshold or 0.0)  # new x new
        found.append(inner + base)
        self.pairs.extend(found)
        for k, t in enumerate(new):
            self.ids[t] = base + k
        self.texts.extend(new)

    def pairs_of(self, prepared: list[str], threshold: float) -> np.ndarray:
        with self._lock:
            new = list(dict.fromkeys(t for t in prepared if t not in self.ids))
            if threshold != self.threshold or len(self.texts) + len(new) > self.max_texts:
                self._reset(threshold)
                new = list(dict.fromkeys(prepared))
            if new:
                self._learn(new)
            ids = np.fromiter((self.ids[t] for t in prepared), dtype=np.int64,
                              count=len(prepared))
            seen = np.concatenate(self.pairs) if self.pairs else np.zeros((0, 2), np.int64)
        # id -> positions holding it (a text twice: its positions pair with each other)
        order = np.argsort(ids, kind="stable")
        first = np.searchsorted(ids[order], np.arange(len(self.texts)))
        last = np.searchsorted(ids[order], np.arange(len(self.texts)), side="right")
        out: list[tuple[int, int]] = []
        for a, b in seen.tolist():
            pa, pb = order[first[a]:last[a]].tolist(), order[first[b]:last[b]].tolist()
            out.extend((min(x, y), max(x, y)) for x in pa for y in pb)
        for run in np.split(order, np.flatnonzero(np.diff(ids[order])) + 1):
            if len(run) > 1:
                pos = sorted(run.tolist())
                out.extend((x, y) for k, x in enumerate(pos) for y in pos[k + 1:])
        if not out:
            return np.zeros((0, 2), dtype=np.int64)
        return np.array(sorted(set(out)), dtype=np.int64)


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
                                score_cutoff=threshold, workers=-1)
        ok = scores >= threshold
        kept.append(part[ok])
        kept_scores.append(scores[ok])
    return np.concatenate(kept), np.concatenate(kept_scores)


def lsh_for(threshold: float) -> LSHParams:
    """The LSH layout for a ratio threshold; below `LSH_TUNED_FOR` the wider bands keep every
    candidate (no signature estimate), as pairs near ratio 80 can have Jaccard under 0.45."""
    if threshold >= LSH_TUNED_FOR:
        return LSHParams()
    return LSHParams(bands=32, rows=3, min_jaccard=0.0)


def uses_minhash(texts: int, threshold: float, method: Method = "auto",
                 allpairs_max: int = ALLPAIRS_MAX) -> bool:
    """Whether `prepared_pairs` over this many texts proposes its candidates by MinHash."""
    return method == "minhash" or (method == "auto" and texts > allpairs_max
                                   and threshold >= LSH_TUNED_FOR)


def prepared_pairs(prepared: list[str], threshold: float, *, method: Method = "auto",
                   allpairs_max: int = ALLPAIRS_MAX, lsh: LSHParams | None = None,
                   memo: PairMemo | None = None, sketched: Sketch | None = None) -> np.ndarray:
    """Pairs (i < j), shape (m, 2), of already token-sorted texts scoring >= threshold. With
    `memo`, all pairs are scored only for texts it has not seen (same result); `sketched`:
    the texts' MinHash sketch, made beforehand with `lsh` (or `lsh_for(threshold)`)."""
    if not prepared:
        return np.zeros((0, 2), dtype=np.int64)
    if not uses_minhash(len(prepared), threshold, method, allpairs_max):
        return memo.pairs_of(prepared, threshold) if memo else _allpairs(prepared, threshold)
    lsh = lsh or lsh_for(threshold)
    sk = sketched if sketched is not None else sketch(prepared, lsh)
    return verified(prepared, prepared, bucket_pairs(sk, lsh), threshold)[0]


def near_pairs(texts: list[str], threshold: float, *, method: Method = "auto",
               allpairs_max: int = ALLPAIRS_MAX) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose token-sorted texts score >= threshold with `fuzz.ratio`."""
    prepared = [token_sort(t) for t in texts]
    pairs = prepared_pairs(prepared, threshold, method=method, allpairs_max=allpairs_max)
    return sorted((int(i), int(j)) for i, j in pairs)


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of 0..n-1 joined by `pairs`: the smallest member of each one.
    Vectorised (min-label propagation with pointer jumping) for the millions of pairs a
    templated corpus has at ratio 80, where a Python union-find takes a second a million."""
    label = np.arange(n, dtype=np.int64)
    if len(pairs) == 0:
        return label
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    while True:
        low = np.minimum(label[i], label[j])
        before = label.copy()
        np.minimum.at(label, i, low)
        np.minimum.at(label, j, low)
        while True:  # jump to the root of each label
            up = label[label]
            if np.array_equal(up, label):
                break
            label = up
        if np.array_equal(label, before):
            return label


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



class ReferenceIndex:
    """Reference texts, indexed for exact, near and n-gram matching."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._exact: dict[str, int] = {}
        for i, t in enumerate(texts):
            self._exact.setdefault(exact_key(t), i)

    @functools.cached_property
    def _prepared(self) -> list[str]:
        return [token_sort(t) for t in self.texts]

    def nearest(self, queries: list[str], threshold: float, *,
                allpairs_max: int = ALLPAIRS_MAX) -> np.ndarray:
        """Per query, the index of its exact match, else of the most similar reference at
        ratio >= threshold, else -1."""
        found = np.full(len(queries), -1, dtype=np.int64)
        if not queries or not self.texts:
            return found
        for q, text in enumerate(queries):
            found[q] = self._exact.get(exact_key(text), -1)
        todo = np.flatnonzero(found < 0)
        if len(todo) == 0:
            return found
        prepared = [token_sort(queries[q]) for q in todo]
        refs = self._prepared
        if len(prepared) * len(refs) <= allpairs_max ** 2 // 2:
            for start in range(0, len(prepared), BLOCK_ROWS):
                scores = process.cdist(prepared[start:start + BLOCK_ROWS], refs,
                                       scorer=fuzz.ratio, score_cutoff=threshold,
                                       dtype=np.uint8, workers=-1)
                best = scores.argmax(axis=1)
                ok = scores[np.arange(len(best)), best] > 0
                found[todo[start:start + BLOCK_ROWS][ok]] = best[ok]
            return found
        lsh = lsh_for(threshold)
        pairs = bucket_pairs(sketch(refs + prepared, lsh), lsh)
        cross = pairs[(pairs[:, 0] < len(refs)) & (pairs[:, 1] >= len(refs))]
        cand = np.stack([cross[:, 1] - len(refs), cross[:, 0]], axis=1)
        ok, scores = verified(prepared, refs, cand, threshold)
        best_score = np.full(len(prepared), -1.0)
        for (q, r), s in zip(ok.tolist(), scores.tolist(), strict=True):
            if s > best_score[q]:
                best_score[q] = s
                found[todo[q]] = r
        return found

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one index lives as long as its texts
    def _ngrams(self, n: int) -> dict[int, int]:
        out: dict[int, int] = {}
        for i, t in enumerate(self.texts):
            for g in word_ngrams(normalize(t).split(), n):
                out.setdefault(xxhash.xxh3_64_intdigest(g.encode()), i)
        return out

    def ngram_match(self, queries: list[str], n: int) -> np.ndarray:
        """Per query, the index of a reference sharing a word n-gram with it, else -1."""
        index = self._ngrams(n)
        found = np.full(len(queries), -1, dtype=np.int64)
        for q, text in enumerate(queries):
            for g in word_ngrams(normalize(text).split(), n):
                hit = index.get(xxhash.xxh3_64_intdigest(g.encode()))
                if hit is not None:
                    found[q] = hit
                    break
        return found


