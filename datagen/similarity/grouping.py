"""Near-duplicate groups at the split's threshold (ratio 80): pairs enough to join every group
they link, found without scoring all pairs.

Up to `ALLPAIRS_MAX` texts every pair is scored. Above it, MinHash LSH draws (`SPLIT_LSH`, one
per hash seed) propose candidates band by band, and a candidate is verified with `fuzz.ratio`
only while its two texts are still in different groups: each verified chunk joins its groups
at once (`join_draws`), so the many candidates inside one templated family cost nothing.

`join_draws` is the one loop both ways of running a draw share: in one process
(`grouping_pairs`: the sketch in memory) and on a cluster (`datagen.export.split_cluster`: a
task per band over sketches written per partition). It asks for a band's candidates given the
groups found so far and verifies them through the functions it is given, so the two give the
same pairs when their candidates and verdicts are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from datagen.similarity.minhash import (
    LSHParams,
    Sketch,
    band_codes,
    estimated_similar,
    sketch,
    sorted_unique,
)
from datagen.similarity.pairs import ALLPAIRS_MAX, _allpairs, components, verified
from datagen.text import token_sort

# The split's grouping and leakage check (ratio 80) on more than `ALLPAIRS_MAX` texts: 5-gram
# pairs at ratio >= 80 had Jaccard >= 0.36 on the bench corpus, unrelated pairs <= 0.23 in
# 99%; 32 bands of 3 rows catch a pair at Jaccard 0.5 in 98% of draws. Templated text fills
# huge buckets, where each text meets only its next `window` (lexicographic neighbours);
# the estimate at 0.3 drops most unrelated candidates unverified: half the candidates of 0.25
# for the same check recall on the bench sample (`bench/split_recall.py`).
SPLIT_LSH = LSHParams(bands=32, rows=3, min_jaccard=0.3, window=12)
JOIN_CHUNK = 200_000  # candidates verified between two updates of the groups found so far

# A draw's candidates in one band, given each index's group label: the sorted, distinct codes
# `i * n + j` (i < j) of the pairs in different groups whose signatures estimate Jaccard >=
# min_jaccard.
BandCodes = Callable[[int, np.ndarray], np.ndarray]


def draw_lsh(seed: int) -> LSHParams:
    """The LSH layout of one draw: `SPLIT_LSH` with this hash seed."""
    return replace(SPLIT_LSH, seed=seed)


def lexicographic(prepared: list[str]) -> np.ndarray:
    """The positions of `prepared` in lexicographic order of their texts (ties: by position),
    the index order of a draw: a bucket too large to pair whole pairs each text with its
    lexicographic neighbours, the likeliest near-duplicates."""
    return np.argsort(np.asarray(prepared, dtype=object), kind="stable")


def first_labels(known: np.ndarray | None, order: np.ndarray) -> np.ndarray:
    """Per index (`order[i]` is its position): the first index of its `known` group."""
    n = len(order)
    label = np.arange(n, dtype=np.int64)
    if known is None or n == 0:
        return label
    _, code = np.unique(known[order], return_inverse=True)
    first = np.full(code.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, code, label)
    return first[code]


def apart(codes: np.ndarray, n: int, label: np.ndarray) -> np.ndarray:
    """The codes whose two indexes are in different groups."""
    return codes[label[codes // n] != label[codes % n]]


def _joined(label: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """`label` (each position's smallest group member) after joining the groups of `pairs`."""
    if len(pairs) == 0:
        return label
    roots = components(len(label), np.stack([label[pairs[:, 0]], label[pairs[:, 1]]], 1))
    return roots[label]


def join_draws(order: np.ndarray, known: np.ndarray | None, seeds: tuple[int, ...],
               bands_of: Callable[[LSHParams], BandCodes],
               verify: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, dict[str, object]]:
    """The pairs (positions, i < j) that join groups, and how they were found: for each hash
    seed and band in turn, `bands_of(draw_lsh(seed))(band, label)` gives the band's candidates
    over the indexes (`order[i]`: the position at index i) and `verify(pairs)` those of a chunk
    that score >= the threshold, in order; each chunk's pairs join their groups before the
    next chunk is looked at."""
    n = len(order)
    label = first_labels(known, order)
    found: list[np.ndarray] = []
    proposed = scored = 0
    for seed in seeds:
        codes_of = bands_of(draw_lsh(seed))
        for band in range(SPLIT_LSH.bands):
            codes = codes_of(band, label)
            proposed += len(codes)
            for lo in range(0, len(codes), JOIN_CHUNK):
                chunk = apart(codes[lo:lo + JOIN_CHUNK], n, label)
                scored += len(chunk)
                ok = verify(np.stack([chunk // n, chunk % n], axis=1))
                found.append(ok)
                label = _joined(label, ok)
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(order[pairs], axis=1)
    return pairs, {"method": "minhash", "shingle": SPLIT_LSH.shingle,
                   "bands": SPLIT_LSH.bands, "rows": SPLIT_LSH.rows, "seeds": list(seeds),
                   "candidates": proposed, "scored": scored}


def _apart_and_similar(label: np.ndarray, sk: Sketch,
                       lsh: LSHParams) -> Callable[[np.ndarray], np.ndarray]:
    """Mask of the candidate pairs worth verifying: texts in different groups (`label`)
    whose signatures estimate Jaccard >= lsh.min_jaccard."""

    def mask(pairs: np.ndarray) -> np.ndarray:
        apart = label[pairs[:, 0]] != label[pairs[:, 1]]
        if apart.any():
            apart[apart] = estimated_similar(lambda rows: sk.marks[rows], pairs[apart], lsh)
        return apart

    return mask


def _in_memory(ranked: list[str]) -> Callable[[LSHParams], BandCodes]:
    """A draw's band candidates from the sketch of the ranked texts, made here."""

    def bands_of(lsh: LSHParams) -> BandCodes:
        sk = sketch(ranked, lsh)
        idx = np.flatnonzero(~sk.empty)

        def codes(band: int, label: np.ndarray) -> np.ndarray:
            open_pairs = _apart_and_similar(label, sk, lsh)
            return sorted_unique(band_codes(sk.keys[idx, band], idx, len(ranked), lsh,
                                            open_pairs))

        return codes

    return bands_of


def grouping_pairs(texts: list[str], threshold: float, *, seeds: tuple[int, ...] = (1,),
                   allpairs_max: int = ALLPAIRS_MAX,
                   known: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, object]]:
    """Pairs (i < j) of `texts` whose token-sorted forms score >= threshold, enough to join
    every group they link, and how they were found. `known`: a group label per text (texts
    sharing one already travel together); no pair inside a group is returned.

    Up to `allpairs_max` texts every pair is scored (exact), and every pair across groups is
    returned. Above it, the draws of `join_draws`, no more than `JOIN_CHUNK` candidates held
    at a time: the pairs returned join the same groups as every near pair the draws propose,
    but are not all of them."""
    prepared = [token_sort(t) for t in texts]
    if len(prepared) <= allpairs_max:
        pairs = _allpairs(prepared, threshold)
        if known is not None:
            pairs = pairs[known[pairs[:, 0]] != known[pairs[:, 1]]]
        return pairs, {"method": "allpairs"}
    order = lexicographic(prepared)
    ranked = [prepared[i] for i in order]
    return join_draws(order, known, seeds, _in_memory(ranked),
                      lambda part: verified(ranked, ranked, part, threshold)[0])
