"""Exact and near-duplicate instructions: one check that keeps the best of each neighbourhood.

Records are taken best first (`datagen.curate.quality`: an answered record before an
unanswered one, then the judge score, then the heuristic quality score, then the lowest id).
A record is kept unless it is an exact copy (normalised text) of a record already kept, or a
near duplicate (`datagen.curate.similarity`, at `dedup.near_threshold`) of one: then it is
dropped, `exact_duplicate` or `near_duplicate`, with `lost_to` naming that record and
`dup_cluster` its id. Nothing is deleted. Every record's heuristic score is stored in its
`scores` (`quality`), for the report's viewer to sort by.

A duplicate is measured against the kept records, not chained: "Draft a strict clause for a
supplier" and "Draft a mutual clause for a supplier" are near duplicates, and so are the
mutual one and "Draft a mutual clause for an employee", but the strict supplier clause and
the mutual employee clause are two requests, and both stay (connected components would keep
one record of a whole family of templated requests). During generation, unanswered copies of
an answered record lose, so no copy is paid for twice; on a corpus where several models
answer one instruction, the best answer stays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.quality import DIGITS, best_first, heuristic, stored
from datagen.curate.reasons import DropReason
from datagen.curate.similarity import PairMemo, exact_key, prepared_pairs
from datagen.text import token_sort

# Between generation rounds the same instructions are compared again with a few new ones:
# the memo scores only the new ones (`--pairs 3000`: the second pass of a round ~0 s, not ~2 s).
MEMO = PairMemo()


def _dedup(ctx: Context) -> Verdicts:
    frame, cfg = ctx.frame, ctx.cfg.dedup
    n = len(frame)
    texts = ctx.texts.instruction.tolist()
    # position -> index of its distinct text, numbered in order of first appearance
    group = pd.factorize(pd.Series([exact_key(t) for t in texts], dtype=object))[0]
    distinct = np.flatnonzero(~pd.Series(group).duplicated().to_numpy())  # first of each
    near: list[list[int]] = [[] for _ in distinct]
    prepared = [token_sort(texts[p]) for p in distinct.tolist()]
    for i, j in prepared_pairs(prepared, cfg.near_threshold, method=cfg.method,
                               allpairs_max=cfg.allpairs_max, memo=MEMO).tolist():
        near[i].append(j)
        near[j].append(i)
    decided = np.full(len(distinct), -1, dtype=np.int64)  # text -> the record copies lose to
    kept_of = np.full(len(distinct), -1, dtype=np.int64)  # text -> its record, when kept
    quality = stored(ctx.scores)  # from the quality check, unless dedup runs without it
    if quality is None:
        quality = heuristic(frame, ctx.texts, ctx.scores).round(DIGITS)
    order = best_first(frame, ctx.scores, quality)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    winner = np.empty(n, dtype=np.int64)
    for pos in order:
        g = group[pos]
        if decided[g] >= 0:  # an exact copy of a text already decided
            winner[pos] = decided[g]
            continue
        rivals = [kept_of[h] for h in near[g] if kept_of[h] >= 0]
        if rivals:  # near a kept record: the best of those wins
            winner[pos] = decided[g] = min(rivals, key=lambda r: rank[r])
        else:
            winner[pos] = decided[g] = kept_of[g] = pos
    ids = frame["id"].astype(str).to_numpy()
    reason = pd.Series(None, index=frame.index, dtype="object")
    lost = winner != np.arange(n)
    same_text = group == group[winner]
    reason[lost & same_text] = str(DropReason.EXACT_DUPLICATE)
    reason[lost & ~same_text] = str(DropReason.NEAR_DUPLICATE)
    lost_to = pd.Series(np.where(lost, ids[winner], None), index=frame.index, dtype="object")
    cluster = pd.Series(ids[winner], index=frame.index, dtype="string")
    return Verdicts(reason, columns={"dup_cluster": cluster}, lost_to=lost_to,
                    scores={"quality": quality.astype(object)})


CHECK = Check(
    name="dedup", reasons=(DropReason.EXACT_DUPLICATE, DropReason.NEAR_DUPLICATE),
    inputs=("id", "instruction", "response", "finish_reason", "scores", "language_score"),
    section="dedup", level="instruction", run=_dedup,
)
