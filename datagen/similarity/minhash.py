"""MinHash LSH candidate pairs in numpy: sub-quadratic near-duplicate search.

All-pairs rapidfuzz is exact but quadratic (100k texts = 5e9 pairs). Instead each text gets a
MinHash signature over its character 5-grams; texts that agree on every row of at least one
band become candidate pairs, and only candidates are verified with `fuzz.ratio` (in
`datagen.checks.duplicates.dedup`). Everything is vectorised over the whole corpus (no Python
loop per shingle or per text), in row chunks so memory stays bounded at a million texts.

The defaults (5-grams, 20 bands of 6 rows) were tuned on the bench corpus: pairs at ratio
>= 90 had 5-gram Jaccard >= 0.63 in 99% of cases (min 0.5), unrelated pairs <= 0.40 in
99.9%; a candidate costs one `fuzz.ratio` call, a missed pair is lost for good.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from datagen.cpus import cpus

_PRIME_MIX = np.uint64(0x9E3779B97F4A7C15)
_MERGE_AT = 16_000_000  # candidate codes held before de-duplicating them (bounds memory)
_ESTIMATE_CHUNK = 50_000  # candidate pairs compared per step (2 x 12 MB of marks)
# bands worked on at once (~60 MB each at a million texts): 1M texts on 2 cores, 22 -> 12 s
BAND_THREADS = 4


@dataclass(frozen=True)
class LSHParams:
    """Shingle size, bands x rows (the signature has bands * rows values), bucket window."""

    shingle: int = 5
    bands: int = 20
    rows: int = 6
    window: int = 24  # in a bucket larger than window + 1, compare each text to the next `window`
    chunk_rows: int = 12_500  # texts hashed at a time: 4x fewer took a third of the time and memory
    seed: int = 1
    # candidates whose signatures agree on fewer of their values are dropped unverified
    # (pairs at ratio >= 90 had 5-gram Jaccard >= 0.66 in 99.9% of cases on the bench)
    min_jaccard: float = 0.45

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
    # a k-gram hash at every position of the joined text, from k shifted slices (no gather),
    # then the positions whose k-gram stays inside one text: ~2x faster than k gathers
    span = len(codes) - k + 1
    h = codes[:span].copy()
    for j in range(1, k):
        h *= _PRIME_MIX
        h += codes[j:span + j]
    return _mix(h[starts]), offsets


def _perms(params: LSHParams) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(params.seed)
    a = rng.integers(1, 2**32, size=params.perms, dtype=np.uint32) | np.uint32(1)
    b = rng.integers(0, 2**32, size=params.perms, dtype=np.uint32)
    return a, b


def _chunk_signatures(chunk: list[str], params: LSHParams, a: np.ndarray,
                      b: np.ndarray) -> np.ndarray:
    sig = np.full((len(chunk), params.perms), np.iinfo(np.uint32).max, dtype=np.uint32)
    hashes, offsets = shingle_hashes(chunk, params.shingle)
    present = np.flatnonzero(offsets[1:] > offsets[:-1])
    if len(present) == 0:
        return sig
    h32 = (hashes >> np.uint64(32)).astype(np.uint32)
    del hashes
    buf = np.empty_like(h32)
    starts = offsets[:-1][present]
    for p in range(params.perms):
        np.bitwise_xor(h32, b[p], out=buf)
        np.multiply(buf, a[p], out=buf)
        sig[present, p] = np.minimum.reduceat(buf, starts)
    return sig


def signatures(texts: list[str], params: LSHParams = LSHParams()) -> np.ndarray:
    """MinHash signatures, shape (len(texts), params.perms), uint32. Empty texts get the
    all-ones signature, which `candidate_pairs` ignores.

    Each permutation is `(h ^ b) * a mod 2**32` over well-mixed 32-bit shingle hashes: two
    in-place uint32 passes and a segmented min per permutation (measured ~4x faster than
    64-bit multiply-shift), and recall against brute force is checked by the bench."""
    a, b = _perms(params)
    parts = [_chunk_signatures(texts[lo:lo + params.chunk_rows], params, a, b)
             for lo in range(0, len(texts), params.chunk_rows)]
    return np.concatenate(parts) if parts else np.zeros((0, params.perms), dtype=np.uint32)


@dataclass
class Sketch:
    """What LSH keeps per text: one key per band, the low 16 bits of every MinHash value (to
    estimate a candidate pair's Jaccard before paying for `fuzz.ratio`), and an empty mask.
    At a million texts that is 80 + 240 MB; the full uint32 signature is never held."""

    keys: np.ndarray  # (n, bands) uint32
    marks: np.ndarray  # (n, perms) uint16
    empty: np.ndarray  # (n,) bool
    rows: np.ndarray | None = None  # the rows of the arrays this stands for (None: all)

    def __len__(self) -> int:
        return len(self.empty) if self.rows is None else len(self.rows)

    def take(self, positions: np.ndarray) -> Sketch:
        """These rows, noted, not copied (a sketch is ~400 bytes a text)."""
        rows = positions if self.rows is None else self.rows[positions]
        return Sketch(self.keys, self.marks, self.empty, rows)

    def at(self, positions: np.ndarray) -> np.ndarray:
        """Rows of the arrays for positions in this sketch."""
        return positions if self.rows is None else self.rows[positions]

    @classmethod
    def concat(cls, parts: list[Sketch]) -> Sketch:
        return cls(np.concatenate([p.keys[p.at(np.arange(len(p)))] for p in parts]),
                   np.concatenate([p.marks[p.at(np.arange(len(p)))] for p in parts]),
                   np.concatenate([p.empty[p.at(np.arange(len(p)))] for p in parts]))


def sketch(texts: list[str], params: LSHParams = LSHParams()) -> Sketch:
    """The `Sketch` of every text, signature chunk by signature chunk; a text given more than
    once is hashed once (~8% of a bench slice's instructions are exact copies)."""
    where = {text: i for i, text in enumerate(dict.fromkeys(texts))}
    if len(where) < len(texts):
        once = sketch(list(where), params)
        inverse = np.fromiter(map(where.__getitem__, texts), dtype=np.int64, count=len(texts))
        return Sketch(once.keys[inverse], once.marks[inverse], once.empty[inverse])
    a, b = _perms(params)
    keys, marks, empty = [], [], []
    for lo in range(0, len(texts), params.chunk_rows):
        sig = _chunk_signatures(texts[lo:lo + params.chunk_rows], params, a, b)
        keys.append(band_keys(sig, params))
        marks.append(sig.astype(np.uint16))
        empty.append((sig == np.iinfo(np.uint32).max).all(axis=1))
    if not keys:
        return Sketch(np.zeros((0, params.bands), dtype=np.uint32),
                      np.zeros((0, params.perms), dtype=np.uint16), np.zeros(0, dtype=bool))
    return Sketch(np.concatenate(keys), np.concatenate(marks), np.concatenate(empty))


def band_keys(sig: np.ndarray, params: LSHParams) -> np.ndarray:
    """One uint32 key per text and band, shape (n, bands): the low half of a 64-bit mix of
    the band's values. Two texts whose bands differ share a key by chance once in 2**32
    pairs (~100 pairs a band at a million texts), and the signature estimate drops those."""
    keys = np.zeros((sig.shape[0], params.bands), dtype=np.uint32)
    for band in range(params.bands):
        h = np.full(sig.shape[0], ((band + 1) * int(_PRIME_MIX)) % 2**64, dtype=np.uint64)
        for r in range(params.rows):
            h = _mix(h ^ sig[:, band * params.rows + r].astype(np.uint64))
        keys[:, band] = h.astype(np.uint32)
    return keys


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending. `np.unique` on int64 took 58-71 s for 23M values where
    a sort and a neighbour mask take 1 s (numpy 2.4): it was most of near dedup at 1M."""
    if len(values) == 0:
        return values
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def candidate_pairs(sig: np.ndarray, params: LSHParams = LSHParams()) -> np.ndarray:
    """Candidate pairs of a full signature matrix (see `bucket_pairs`)."""
    empty = (sig == np.iinfo(np.uint32).max).all(axis=1)
    return bucket_pairs(Sketch(band_keys(sig, params), sig.astype(np.uint16), empty), params)


def estimated_similar(marks: Callable[[np.ndarray], np.ndarray], pairs: np.ndarray,
                      params: LSHParams) -> np.ndarray:
    """Mask of the pairs whose MinHash agreement estimates Jaccard >= params.min_jaccard;
    `marks(rows)` gives those texts' marks (a `Sketch`'s, or ones read from disk)."""
    need = int(np.ceil(params.min_jaccard * params.perms))
    ok = np.empty(len(pairs), dtype=bool)
    for lo in range(0, len(pairs), _ESTIMATE_CHUNK):
        part = pairs[lo:lo + _ESTIMATE_CHUNK]
        same = np.count_nonzero(marks(part[:, 0]) == marks(part[:, 1]), axis=1)
        ok[lo:lo + len(part)] = same >= need
    return ok


def bucket_pairs(sk: Sketch, params: LSHParams = LSHParams()) -> np.ndarray:
    """Unique index pairs (i < j), shape (m, 2), of non-empty texts that share a band bucket
    and whose signatures agree on at least `min_jaccard` of their values.

    Within a bucket, each text is paired with the next `window` texts in index order: every
    pair of a bucket of up to window + 1 texts, and a bounded number for huge buckets (a
    template repeated thousands of times), whose members still chain into one cluster.

    Templated text makes many unrelated pairs share one band by luck, and their number grows
    with the square of the corpus (bench: 423k candidates at 100k texts, 20.5M at 1M, for 21k
    and 214k real pairs); those pairs have Jaccard ~0.28 (median) where real ones have >= 0.66,
    so the signature estimate drops ~90% of them before any string is compared."""
    n = len(sk)
    found: list[np.ndarray] = []
    held = 0
    idx = np.flatnonzero(~sk.empty[sk.at(np.arange(n))])
    similar = None if params.min_jaccard <= 0 else \
        (lambda pairs: estimated_similar(lambda rows: sk.marks[sk.at(rows)], pairs, params))

    def one(band: int) -> np.ndarray:
        return band_codes(sk.keys[sk.at(idx), band], idx, n, params, similar)

    # bands are independent, and numpy lets go of the GIL in their sorts, compares and
    # gathers: threads share the sketch (forked workers would each copy their touched pages)
    with ThreadPoolExecutor(min(cpus(), BAND_THREADS, params.bands)) as pool:
        for codes in pool.map(one, range(params.bands)):
            found.append(codes)
            held += len(codes)
            if held > _MERGE_AT:  # bands repeat pairs: fold them as we go
                found = [sorted_unique(np.concatenate(found))]
                held = len(found[0])
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = sorted_unique(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1)


def band_codes(keys: np.ndarray, idx: np.ndarray, n: int, params: LSHParams,
               similar: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """One band's candidate pairs, as codes `i * n + j` (i < j): the texts `idx` (ascending)
    whose band keys (`keys`, aligned with `idx`) are equal, each paired with the next `window`
    of its bucket; `similar(pairs)` masks the pairs worth keeping (the signature estimate)."""
    order = np.argsort(keys, kind="stable")  # stable: index order within a bucket
    ks, ids = keys[order], idx[order]
    found: list[np.ndarray] = []
    for d in range(1, params.window + 1):
        if d >= len(ks):
            break
        same = ks[d:] == ks[:-d]
        if not same.any():
            break
        codes = ids[:-d][same] * n + ids[d:][same]  # ascending in a bucket: i < j
        if similar is not None:  # unlikely pairs go at once: held memory stays small
            codes = codes[similar(np.stack([codes // n, codes % n], axis=1))]
        found.append(codes)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
