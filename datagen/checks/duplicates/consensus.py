"""How far each answer agrees with the other answers to the same instruction.

When several models answer one instruction, the answer the others agree with is right more
often than the odd one out (self-consistency): of "Who created Superman?" answered "Jerry
Siegel and Joe Shuster" three times and "two animators, Fleischer..." once, the three agree.
Agreement is an answer's mean rapidfuzz `token_set_ratio` (normalised text, in [0, 1]) to the
other answers: it scores the words two answers share, so a short answer whose words all
appear in a longer one agrees with it fully, and padding neither helps nor hurts. In Chinese
and Japanese, which write no spaces, each character is a word (`words_of`).

Two answers hold no majority, so only groups of `MIN_MEMBERS` or more are scored, and a
group whose answers all agree about equally (within `NOISE`) is left as it is. Each answer
is compared with at most `MAX_COMPARED` members of its group, so a large group costs time in
proportion to its size, not its square.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

from datagen.text import CJK, normalize

MIN_MEMBERS = 3
MAX_COMPARED = 16
# Answers whose agreements all lie within this of each other hold no majority: copies that
# differ by a number or a word (templated answers differ by ~0.01) keep the plain ranking.
NOISE = 0.05


def groups(keys: np.ndarray, members: np.ndarray) -> list[np.ndarray]:
    """Positions of each group of at least `MIN_MEMBERS` rows that share a key, among the
    rows where `members` is true (in position order within a group)."""
    at = np.flatnonzero(members)
    if len(at) < MIN_MEMBERS:
        return []
    group = np.asarray(keys)[at]
    counts = np.bincount(group)
    big = counts[group] >= MIN_MEMBERS
    at, group = at[big], group[big]
    order = np.argsort(group, kind="stable")
    at, group = at[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return np.split(at, starts[1:]) if len(at) else []


def words_of(response: str) -> str:
    """The normalised response with each CJK character a word of its own: Chinese and
    Japanese write no spaces, so a whole sentence would otherwise be one token."""
    normal = normalize(response)
    return CJK.sub(r" \g<0> ", normal) if CJK.search(normal) else normal


def agreement(responses: list[str]) -> np.ndarray:
    """Per answer, its mean similarity in [0, 1] to the other answers of its group (to the
    first `MAX_COMPARED` of them)."""
    normal = [words_of(r) for r in responses]
    others = normal[:MAX_COMPARED]
    sim = process.cdist(normal, others, scorer=fuzz.token_set_ratio, dtype=np.float32,
                        workers=1).astype(float) / 100
    compared = np.full(len(normal), float(len(others)))
    diagonal = np.arange(len(others))
    sim[diagonal, diagonal] = 0.0  # an answer is not compared with itself
    compared[diagonal] -= 1
    return sim.sum(axis=1) / np.maximum(compared, 1)
