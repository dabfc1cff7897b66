"""MinHash LSH candidate pairs in numpy: sub-quadratic near-duplicate search.

All-pairs rapidfuzz is exact but quadratic (100k texts = 5e9 pairs). Instead each text gets a
MinHash signature over its character 5-grams; texts that agree on every row of at least one
band become candidate pairs, and only candidates are verified with `fuzz.ratio` (in
`datagen.dedup`). Everything is vectorised over the whole corpus (no Python loop per shingle
or per text), in row chunks so memory stays bounded at a million texts.

The defaults (5-grams, 24 bands of 3 rows) put the LSH threshold low, around Jaccard 0.35:
a ratio-90 near-duplicate of a short text can lose half its 5-grams to a few edits, and a
false candidate costs one `fuzz.ratio` call, while a missed one is lost for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MASK32 = np.uint64(0xFFFFFFFF)
_PRIME_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class LSHParams:
    """Shingle size, bands x rows (the signature has bands * rows values), bucket window."""

    shingle: int = 5
    bands: int = 24
    rows: int = 3
    window: int = 24  # in a bucket larger than window + 1, compare each text to the next `window`
    chunk_rows: int = 50_000
    seed: int = 1

    @property
    def perms(self) -> int:
        return self.bands * self.rows


def _mix(x: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (xorshift-multiply): spreads polynomial hashes over all bits."""
    x = x ^ (x >> np.uint64(31))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every character k-gram of every text, and the start offset of each
    text's hashes (len(texts) + 1 offsets). A text shorter than k is one padded shingle;
    an empty text has none."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    padded = [t if len(t) >= k or not t else t.ljust(k) for t in texts]
    lengths = np.maximum(lengths, np.where(lengths > 0, k, 0))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    counts = np.maximum(lengths - k + 1, 0)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    # start position of each shingle in `codes`: text start + position inside the text
    text_start = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=text_start[1:])
    owner = np.repeat(np.arange(len(texts)), counts)
    starts = text_start[owner] + (np.arange(total) - offsets[:-1][owner])
    h = np.zeros(total, dtype=np.uint64)
    for j in range(k):
        h = h * _PRIME_MIX + codes[starts + j]
    return _mix(h), offsets


def signatures(texts: list[str], params: LSHParams = LSHParams()) -> np.ndarray:
    """MinHash signatures, shape (len(texts), params.perms), uint32. Empty texts get the
    all-ones signature, which `candidate_pairs` ignores."""
    rng = np.random.default_rng(params.seed)
    a = rng.integers(1, 2**63, size=params.perms, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=params.perms, dtype=np.uint64)
    sig = np.full((len(texts), params.perms), np.iinfo(np.uint32).max, dtype=np.uint32)
    for lo in range(0, len(texts), params.chunk_rows):
        chunk = texts[lo:lo + params.chunk_rows]
        hashes, offsets = shingle_hashes(chunk, params.shingle)
        present = np.flatnonzero(offsets[1:] > offsets[:-1])
        if len(present) == 0:
            continue
        starts = offsets[:-1][present]
        for p in range(params.perms):
            v = ((hashes * a[p] + b[p]) >> np.uint64(32)).astype(np.uint32)
            sig[lo + present, p] = np.minimum.reduceat(v, starts)
    return sig


def band_keys(sig: np.ndarray, params: LSHParams) -> np.ndarray:
    """One uint64 key per text and band, shape (n, bands)."""
    keys = np.zeros((sig.shape[0], params.bands), dtype=np.uint64)
    for band in range(params.bands):
        h = np.full(sig.shape[0], np.uint64(band + 1) * _PRIME_MIX, dtype=np.uint64)
        for r in range(params.rows):
            h = _mix(h ^ sig[:, band * params.rows + r].astype(np.uint64))
        keys[:, band] = h
    return keys


def candidate_pairs(sig: np.ndarray, params: LSHParams = LSHParams()) -> np.ndarray:
    """Unique index pairs (i < j), shape (m, 2), of texts that share a band bucket.

    Within a bucket, each text is paired with the next `window` texts in index order: every
    pair of a bucket of up to window + 1 texts, and a bounded number for huge buckets (a
    template repeated thousands of times), whose members still chain into one cluster."""
    n = sig.shape[0]
    empty = (sig == np.iinfo(np.uint32).max).all(axis=1)
    keys = band_keys(sig, params)
    found: list[np.ndarray] = []
    idx = np.arange(n, dtype=np.int64)
    for band in range(params.bands):
        k = keys[:, band]
        order = np.lexsort((idx, k))
        ks, ids = k[order], idx[order]
        for d in range(1, params.window + 1):
            if d >= n:
                break
            same = ks[d:] == ks[:-d]
            if not same.any():
                break
            i, j = ids[:-d][same], ids[d:][same]
            found.append(i * n + j)  # ids are ascending within a bucket, so i < j
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    pairs = np.stack([codes // n, codes % n], axis=1)
    return pairs[~(empty[pairs[:, 0]] | empty[pairs[:, 1]])]
