"""Repetitive responses (Gopher rules, Rae et al. 2021): a model stuck in a loop.

Two measures on words, as characters in n-grams over all characters: the most frequent
2/3/4-gram (only when it occurs more than once), and all repeated 5..10-grams. Thresholds
come from `curation.repetition` (2-gram and 5-gram; longer n-grams step down as in Gopher).
Responses under `min_words` words are not judged: a repeated phrase in a short answer, or the
same frame on each line of a short list, is style, not a loop.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from datagen.config import RepetitionConfig
from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason


def top_ngram_fraction(words: list[str], n: int, total: int) -> float:
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return 0.0 if count < 2 else sum(map(len, gram)) * count / total


def duplicate_ngram_fraction(words: list[str], n: int, total: int) -> float:
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(words)
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered[i:i + n] = [True] * n
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / total


def repetitive(text: str, cfg: RepetitionConfig) -> bool:
    words = text.split()
    if len(words) < cfg.min_words:
        return False
    total = sum(map(len, words))
    counts = Counter(words)
    # every word of a repeated n-gram is itself repeated: a cheap bound skips most texts
    repeated = sum(len(w) * c for w, c in counts.items() if c > 1) / total
    if repeated <= min(cfg.max_top_ngram_fraction - 0.04, cfg.max_duplicate_ngram_fraction - 0.05):
        return False
    for n in (2, 3, 4):
        if top_ngram_fraction(words, n, total) > cfg.max_top_ngram_fraction - 0.02 * (n - 2):
            return True
    for n in range(5, 11):
        limit = cfg.max_duplicate_ngram_fraction - 0.01 * (n - 5)
        if duplicate_ngram_fraction(words, n, total) > limit:
            return True
    return False


def _repetition(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.repetition
    hit = pd.Series([repetitive(x, cfg) for x in ctx.texts.response_lc], index=ctx.frame.index,
                    dtype=bool)
    return Verdicts.where(hit, DropReason.REPETITION)


CHECK = Check(
    name="repetition", reasons=(DropReason.REPETITION,), inputs=("response",),
    section="repetition", level="pair", run=_repetition,
)
