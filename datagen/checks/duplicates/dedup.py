"""Exact and near-duplicate instructions: one check that keeps the best of each neighbourhood.

Records are taken best first (`datagen.checks.duplicates.quality`: an answered record before an
unanswered one, then the judge score, then the heuristic quality score, then the lowest id).
A record is kept unless it is an exact copy (normalised text) of a record already kept, or a
near duplicate (`datagen.similarity.pairs`, at `dedup.near_threshold`) of one: then it is
dropped, `exact_duplicate` or `near_duplicate`, with `lost_to` naming that record and
`dup_cluster` its id. Nothing is deleted. Every record's heuristic score is stored in its
`scores` (`quality`), for the report's viewer to sort by.

A duplicate is measured against the kept records, not chained: "Draft a strict clause for a
supplier" and "Draft a mutual clause for a supplier" are near duplicates, and so are the
mutual one and "Draft a mutual clause for an employee", but the strict supplier clause and
the mutual employee clause are two requests, and both stay (connected components would keep
one record of a whole family of templated requests). During generation, unanswered copies of
an answered record lose, so no copy is paid for twice; on a corpus where several models
answer one instruction, the best answer stays. The text compared is the instruction with the
tool calls it led to and the later user turns of its conversation (`Texts.conversation_normal`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
import xxhash
from pydantic import Field

from datagen.checks.check import Check, Context, CurationConfig, Texts, Verdicts
from datagen.checks.duplicates.quality import DIGITS, best_first, heuristic, stored
from datagen.reasons import DropReason
from datagen.settings import Section
from datagen.similarity.minhash import Sketch, sketch
from datagen.similarity.pairs import PairMemo, lsh_for, prepared_pairs, uses_minhash


class DedupConfig(Section):
    """`dedup`: exact and near-duplicate instructions; the best member of a cluster stays."""

    near_threshold: float = Field(
        default=90.0, ge=50, le=100, description="rapidfuzz ratio on token-sorted text.")
    method: Literal["auto", "allpairs", "minhash"] = Field(
        default="auto", description="auto: all pairs up to `allpairs_max` texts, MinHash above.")
    allpairs_max: int = Field(
        default=5_000, ge=2,
        description="Largest all-pairs dedup (5k: ~5 s on 2 shared cores; MinHash above).")

# Between generation rounds the same instructions are compared again with a few new ones:
# the memo scores only the new ones (`--pairs 3000`: the second pass of a round ~0 s, not ~2 s).
MEMO = PairMemo()


@dataclass(frozen=True)
class Prepared:
    """What dedup knows of each record before it compares two: the hash of its normalised
    instruction, its token-sorted instruction and, where the pass is large enough for MinHash,
    its sketch. Record by record, so a large pass makes it on its slices, on every core.
    `take` only notes the rows (a sketch is ~400 bytes a record): they are cut once, when
    read."""

    key: np.ndarray  # uint64
    sorted: list[str]
    sketch: Sketch | None
    rows: np.ndarray | None = None  # the rows of the arrays above this stands for (None: all)

    def take(self, positions: np.ndarray) -> Prepared:
        return replace(self, rows=positions if self.rows is None else self.rows[positions])

    def keys(self) -> np.ndarray:
        return self.key if self.rows is None else self.key[self.rows]

    def texts(self) -> list[str]:
        return self.sorted if self.rows is None else [self.sorted[p] for p in self.rows.tolist()]

    def sketched(self) -> Sketch | None:
        if self.sketch is None or self.rows is None:
            return self.sketch
        return self.sketch.take(self.rows)  # noted, not copied

    @classmethod
    def concat(cls, parts: list[Prepared]) -> Prepared:
        sketches = [p.sketched() for p in parts]
        return cls(np.concatenate([p.keys() for p in parts]),
                   [t for p in parts for t in p.texts()],
                   None if any(s is None for s in sketches) else Sketch.concat(sketches))


def prepare(texts: Texts, cfg: CurationConfig, rows: int) -> Prepared:
    """`Prepared` for the rows of `texts`, in a pass over `rows` records."""
    normal = texts.conversation_normal.tolist()
    key = np.fromiter((xxhash.xxh3_64_intdigest(t.encode()) for t in normal), dtype=np.uint64,
                      count=len(normal))
    ordered = [" ".join(sorted(t.split())) for t in normal]
    d = cfg.dedup
    big = uses_minhash(rows, d.near_threshold, d.method, d.allpairs_max)
    return Prepared(key, ordered, sketch(ordered, lsh_for(d.near_threshold)) if big else None)


def _dedup(ctx: Context) -> Verdicts:
    frame = ctx.frame
    n = len(frame)
    group, pairs = _near(ctx)
    quality = stored(ctx.scores)  # from the quality check, unless dedup runs without it
    scored = {}
    if quality is None:
        quality = heuristic(frame, ctx.texts, ctx.scores).round(DIGITS)
        scored = {"quality": quality.astype(object)}
    winner = resolve(group, pairs, best_first(frame, ctx.texts, ctx.scores, quality))
    ids = frame["id"].astype(str).to_numpy()
    reason = pd.Series(reasons(group, winner), index=frame.index, dtype="object")
    lost = winner != np.arange(n)
    lost_to = pd.Series(np.where(lost, ids[winner], None), index=frame.index, dtype="object")
    cluster = pd.Series(ids[winner], index=frame.index, dtype="string")
    return Verdicts(reason, columns={"dup_cluster": cluster}, lost_to=lost_to, scores=scored)


def _near(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Each record's distinct text, and the near pairs among the texts. What `prepare` made
    goes when this returns, before the ranking (~0.5 GB at 1M records)."""
    carried = ctx.texts.carried(CHECK.name)
    ready = carried if carried is not None else prepare(ctx.texts, ctx.cfg, 0)
    group, distinct = texts_of(ready.keys())
    first = ready.take(distinct)
    d = ctx.cfg.dedup
    return group, prepared_pairs(first.texts(), d.near_threshold, method=d.method,
                                 allpairs_max=d.allpairs_max, memo=MEMO,
                                 sketched=first.sketched())


def texts_of(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each record's distinct text (numbered in order of first appearance), and the position
    of each text's first record."""
    group = pd.factorize(keys)[0]
    return group, np.flatnonzero(~pd.Series(group).duplicated().to_numpy())


def resolve(group: np.ndarray, pairs: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per record, the record it loses to (itself when kept). Records are taken best first
    (`order`): a copy of a text already decided loses as that text did; a record near a kept
    one (`pairs` of near texts) loses to the best of them; else it is kept."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    texts = int(group.max()) + 1
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(order))
    # a text near no other: its best record is kept, and its copies lose to it
    best = np.full(texts, len(group), dtype=np.int64)
    np.minimum.at(best, group, rank)
    winner = order[best[group]]
    # texts with near ones are taken one by one, best record first
    near: dict[int, list[int]] = {}
    for i, j in pairs.tolist():
        near.setdefault(i, []).append(j)
        near.setdefault(j, []).append(i)
    if not near:
        return winner
    involved = np.zeros(texts, dtype=bool)
    involved[list(near)] = True
    decided: dict[int, int] = {}  # text -> the record copies lose to
    kept_of: dict[int, int] = {}  # text -> its record, when kept
    taken = order[involved[group[order]]]
    for pos, g in zip(taken.tolist(), group[taken].tolist(), strict=True):
        if g in decided:  # an exact copy of a text already decided
            winner[pos] = decided[g]
            continue
        rivals = [kept_of[h] for h in near[g] if h in kept_of]
        if rivals:  # near a kept record: the best of those wins
            winner[pos] = decided[g] = min(rivals, key=rank.__getitem__)
        else:
            winner[pos] = decided[g] = kept_of[g] = pos
    return winner


def reasons(group: np.ndarray, winner: np.ndarray) -> np.ndarray:
    """Per record, its drop reason (None: kept): a copy of its winner's text, or near it."""
    out = np.full(len(group), None, dtype=object)
    lost = winner != np.arange(len(group))
    same_text = group == group[winner]
    out[lost & same_text] = str(DropReason.EXACT_DUPLICATE)
    out[lost & ~same_text] = str(DropReason.NEAR_DUPLICATE)
    return out


CHECK = Check(
    name="dedup", stage="dedup", order=2600, config=DedupConfig,
    reasons=(DropReason.EXACT_DUPLICATE, DropReason.NEAR_DUPLICATE),
    inputs=("id", "instruction", "response", "finish_reason", "scores", "language_score",
            "metadata"),
    section="dedup", level="instruction", run=_dedup, prepare=prepare,
)
