"""Exact and near-duplicate instructions: one check that keeps the best member of each cluster.

Clusters are connected components of exact copies (normalised text) and near duplicates
(`datagen.curate.similarity`). In each cluster the best member stays kept
(`datagen.curate.quality`: an answered record before an unanswered one, then the judge score,
then the heuristic quality score, then the lowest id) and every other member is dropped:
`exact_duplicate` when its text equals the winner's, else `near_duplicate`, with `lost_to`
naming the winner. Every member's `dup_cluster` is the winner's id. Nothing is deleted. During
generation, unanswered copies of an answered record lose, so no copy is paid for twice; on a
corpus where several models answer one instruction, the best answer stays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.quality import best_first
from datagen.curate.reasons import DropReason
from datagen.curate.similarity import UnionFind, exact_key, prepared_pairs
from datagen.text import token_sort


def _dedup(ctx: Context) -> Verdicts:
    frame, cfg = ctx.frame, ctx.cfg.dedup
    n = len(frame)
    texts = ctx.texts.instruction.tolist()
    keys = [exact_key(t) for t in texts]
    # exact copies join first (a dict per key), then near pairs among distinct texts
    first_of: dict[str, int] = {}
    uf = UnionFind(n)
    distinct: list[int] = []
    for pos, key in enumerate(keys):
        if key in first_of:
            uf.union(first_of[key], pos)
        else:
            first_of[key] = pos
            distinct.append(pos)
    prepared = [token_sort(texts[p]) for p in distinct]
    for i, j in prepared_pairs(prepared, cfg.near_threshold, method=cfg.method,
                               allpairs_max=cfg.allpairs_max).tolist():
        uf.union(distinct[i], distinct[j])
    roots = np.array([uf.find(p) for p in range(n)])
    order = best_first(frame, ctx.texts, ctx.scores)  # positions, best record first
    winner_of_root: dict[int, int] = {}
    for pos in order:
        winner_of_root.setdefault(int(roots[pos]), int(pos))
    winner = np.array([winner_of_root[int(r)] for r in roots])
    ids = frame["id"].astype(str).to_numpy()
    reason = pd.Series(None, index=frame.index, dtype="object")
    lost = winner != np.arange(n)
    same_text = np.array([keys[p] == keys[w] for p, w in enumerate(winner)])
    reason[lost & same_text] = str(DropReason.EXACT_DUPLICATE)
    reason[lost & ~same_text] = str(DropReason.NEAR_DUPLICATE)
    lost_to = pd.Series(np.where(lost, ids[winner], None), index=frame.index, dtype="object")
    cluster = pd.Series(ids[winner], index=frame.index, dtype="string")
    return Verdicts(reason, columns={"dup_cluster": cluster}, lost_to=lost_to)


CHECK = Check(
    name="dedup", reasons=(DropReason.EXACT_DUPLICATE, DropReason.NEAR_DUPLICATE),
    inputs=("id", "instruction", "response", "finish_reason", "scores", "language_score"),
    section="dedup", level="instruction", run=_dedup,
)
