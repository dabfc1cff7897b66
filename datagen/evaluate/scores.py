"""How answers are scored: reference similarity (ROUGE-L F1), and pairwise judge preference
with position swap and a bootstrap interval.

ROUGE-L F1 is the longest common subsequence of lower-cased word tokens, as a share of the
answer (precision) and of the reference (recall), combined as F1: a standard, explainable
measure of how close an answer is to the validation response, with no model to download.
rapidfuzz computes the LCS over token lists in C.

A judge sees each pair twice, once in each order. A candidate wins an instruction when the
judge prefers it both times, loses when it prefers the other both times, and ties (0.5)
otherwise: a judge that always says "A" gives every pair 0.5, not a false winner. A
comparison whose either order got no verdict (the call failed, or the reply said neither A nor
B) is not scored at all: a win rate is taken over the scored comparisons only, never filled
in with a tie.
"""

from __future__ import annotations

import re

import numpy as np
from rapidfuzz.distance import LCSseq

_WORD = re.compile(r"\w+", re.UNICODE)
BOOTSTRAP_SAMPLES = 1000


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())


def rouge_l(answer: str | None, reference: str | None) -> float:
    a, r = words(answer), words(reference)
    if not a or not r:
        return 0.0
    lcs = LCSseq.similarity(a, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def verdict(text: str | None) -> str | None:
    """"A" or "B" from a judge's reply, or None when it said neither."""
    match = re.match(r"\W*(?:answer\s*)?([AB])\b", (text or "").strip(), re.IGNORECASE)
    return match.group(1).upper() if match else None


def swap_score(first: str | None, second: str | None) -> float | None:
    """The score of candidate X from the judge's verdicts with X as A, then X as B; None
    when either verdict is missing (unscored, not a tie)."""
    if first not in ("A", "B") or second not in ("A", "B"):
        return None
    wins = (first == "A") + (second == "B")
    losses = (first == "B") + (second == "A")
    return 1.0 if wins == 2 else 0.0 if losses == 2 else 0.5


def bootstrap_ci(values: list[float], *, seed: int = 0,
                 samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """The 95% percentile interval of the mean, resampling instructions."""
    if not values:
        return (float("nan"), float("nan"))
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
