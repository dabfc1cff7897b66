"""Which member of a duplicate cluster is the best: the order dedup keeps records in.

Records are ranked by, in this order:

1. answered before unanswered (an answer already paid for is never thrown away for a copy);
2. the judge score, when the record has one (unscored records rank below scored ones);
3. the heuristic quality score below, in [0, 1], as it stands among the other answers to the
   same instruction (`in_group`);
4. on a tie (scores are rounded to `DIGITS`): fewer flags from other checks (PII,
   placeholders, counted without the cap the score puts on them), then a length nearer the
   band the task's shape asks for (`length_gap`: no preference inside the band, where the
   score is already full);
5. the lowest id (ids are hashes: a stable, order-independent tie-break).

Heuristic quality, a weighted sum:

    0.35  the answer ended by itself (`finish_reason` stop; unknown counts half)
    0.35  its length fits the task (`datagen.shape`): for labels, concise is best
          (full marks up to 20 words, falling to 0 at 300); for every other task, fuller is
          best (rising to full marks at 150 words, falling again past 1,500): among answers
          to one question, the weak ones are most often the short ones
    0.15  the language detector's confidence in the target language (unknown counts half)
    0.15  no flags from other checks (PII, placeholders: each costs half of this part)

Among three or more answers to one instruction (the same normalised text), two things change
(`in_group`). Length earns nothing past the group's median length: "fuller is best" holds for
a task that needs 150 words, but when most answers to a factual question take 10 to 30 words,
the 70-word one is padding, and on such questions the long answer is as often the weak
model's. And an answer gains `CONSENSUS_WEIGHT` times its agreement with the other answers
(`datagen.checks.duplicates.consensus`), centred on the group's mean, so a group's scores
stay on the scale of a lone record's. Two answers hold no majority and keep the plain score.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from datagen.checks.check import Check, Context, Texts, Verdicts
from datagen.checks.duplicates import consensus
from datagen.checks.heuristics.placeholder import has_placeholder

DIGITS = 4  # the stored score, which dedup ranks by (a JSON round trip keeps it exact)
LENGTH_WEIGHT = 0.35
# Chosen on the dev set's tuning part: the largest weight that keeps its best of cluster
# (a weight of 1 lets a short agreeing answer beat a full one on open-ended tasks).
CONSENSUS_WEIGHT = 0.5


def length_fits(shapes: np.ndarray, words: np.ndarray) -> np.ndarray:
    """`length_fit` for arrays of shapes and word counts."""
    w = np.asarray(words, dtype=float)
    label = np.where(w <= 20, 1.0, np.maximum(0.0, 1.0 - (w - 20) / 280))
    fuller = np.where(w <= 150, w / 150,
                      np.where(w <= 1500, 1.0, np.maximum(0.0, 1.0 - (w - 1500) / 3000)))
    fit = np.where(np.asarray(shapes, dtype=object) == "label", label, fuller)
    return np.where(w <= 0, 0.0, fit)


def length_fit(shape: str, words: int) -> float:
    return float(length_fits(np.array([shape], dtype=object), np.array([words]))[0])


def length_gap(shape: str, words: int) -> int:
    """How many words an answer lies outside the band its shape asks for (label: up to 20
    words; any other: 150 to 1,500), 0 inside it."""
    if shape == "label":
        return max(0, words - 20)
    return max(0, 150 - words, words - 1500)


def flag_count(texts: Texts, scores: pd.Series | None) -> np.ndarray:
    """Per row, the flags other checks raised that do not drop a record (PII, placeholders)."""
    flags = np.array([1.0 if has_placeholder(r) else 0.0 for r in texts.response])
    if scores is not None:
        flags += np.array([1.0 if s.get("pii") else 0.0 for s in scores])
    return flags


def heuristic(frame: pd.DataFrame, texts: Texts,
              scores: pd.Series | None = None) -> pd.Series:
    """The heuristic quality score per row (see the module docstring)."""
    finish = frame["finish_reason"].fillna("").astype(str).tolist()
    stop = np.array([1.0 if f == "stop" else 0.5 if f == "" else 0.0 for f in finish])
    fit = length_fits(texts.shape.to_numpy(dtype=object), texts.response_words.to_numpy())
    lang = frame["language_score"].astype("Float64").fillna(0.5).to_numpy(dtype=float)
    flags = flag_count(texts, scores) / 2  # each flag costs half of its part
    return pd.Series(0.35 * stop + LENGTH_WEIGHT * fit + 0.15 * lang
                     + 0.15 * (1 - np.minimum(flags, 1)), index=frame.index)


def _quality(ctx: Context) -> Verdicts:
    score = heuristic(ctx.frame, ctx.texts, ctx.scores).round(DIGITS)
    return Verdicts(Verdicts.none(ctx.frame.index).reason, scores={"quality": score.astype(object)})


# Drops nothing: it scores every record that reaches dedup, record by record (so with the
# other record-local checks, on slices and on every core), for dedup to rank by.
CHECK = Check(
    name="quality", stage="dedup", order=2500,
    reasons=(), section=None, level="instruction", run=_quality,
    inputs=("instruction", "response", "finish_reason", "scores", "language_score", "metadata"),
)


def stored(scores: pd.Series) -> pd.Series | None:
    """The quality scores the check above gave these rows, if every row has one."""
    values = [s.get("quality") for s in scores]
    if any(not isinstance(v, int | float) for v in values):
        return None
    return pd.Series(values, index=scores.index, dtype=float)


def judge_score(scores: pd.Series | None, index: pd.Index) -> np.ndarray:
    if scores is None:
        return np.full(len(index), -1.0)
    values: list[Any] = [s.get("judge") for s in scores]
    return np.array([float(v) if isinstance(v, int | float) else -1.0 for v in values])


def in_group(quality: pd.Series, texts: Texts) -> np.ndarray:
    """Each row's heuristic score as it stands among the answers to the same instruction
    (see the module docstring and `grouped`)."""
    keys = pd.factorize(texts.instruction_normal)[0]
    return grouped(quality.to_numpy(dtype=float), keys, texts.answered.to_numpy(),
                   lambda rows: texts.take(texts.frame.iloc[rows]))


def grouped(q: np.ndarray, keys: np.ndarray, answered: np.ndarray,
            texts_of: Callable[[np.ndarray], Texts]) -> np.ndarray:
    """`q` where `consensus.MIN_MEMBERS` or more answered rows share an instruction `key`: no
    length reward past the group's median length, plus the centred agreement. `texts_of`
    gives the texts of the rows at some positions, in their order: only the groups' members
    are read (a pass on a cluster reads them from its partitions)."""
    found = consensus.groups(keys, answered)
    if not found:
        return q
    members = texts_of(np.concatenate(found))
    words = members.response_words.to_numpy()
    shapes = members.shape.to_numpy(dtype=object)
    responses = members.response.tolist()
    q = q.copy()
    start = 0
    for rows in found:
        at = slice(start, start + len(rows))
        start += len(rows)
        w, s = words[at], shapes[at]
        beyond = length_fits(s, w) - length_fits(s, np.minimum(w, np.median(w)))
        agree = consensus.agreement(responses[at])
        if np.ptp(agree) < consensus.NOISE:
            agree[:] = agree.mean()
        q[rows] += CONSENSUS_WEIGHT * (agree - agree.mean()) - LENGTH_WEIGHT * np.maximum(
            beyond, 0.0)
    return q


def best_first(frame: pd.DataFrame, texts: Texts, scores: pd.Series | None,
               quality: pd.Series) -> np.ndarray:
    """Row positions of `frame`, best record first (see the module docstring), given each
    row's heuristic score."""
    answered = texts.answered.to_numpy()
    q = np.round(in_group(quality, texts), DIGITS)
    judge = judge_score(scores, frame.index)
    ids = frame["id"].astype(str).to_numpy()
    flags = flag_count(texts, scores)
    gap = np.array([length_gap(str(s), int(w))
                    for s, w in zip(texts.shape, texts.response_words, strict=True)])
    # np.lexsort sorts by the last key first; negate what ranks high
    return np.lexsort((ids, gap, flags, -q, -judge, ~answered))
