"""Semantic near-duplicates: instructions that ask the same thing in other words.

After exact and near-duplicate dedup (`datagen.checks.duplicates.dedup`), each kept record's
instruction with the first words of its answer is embedded (`datagen.similarity.embed`) and
each pair whose cosine similarity reaches `curation.semantic.threshold` is a semantic pair.
The answer's opening tells a paraphrase (answered alike) from another request on the same
topic (answered differently) far better than the instruction alone: on
bench/semantic_pairs.py's hand-written pairs, precision 0.94 and recall 0.97 at 0.72, against
0.78 and 0.91 at the instruction alone's best threshold. The best record of each
neighbourhood stays, as in dedup (the same ranking,
`datagen.checks.duplicates.quality.best_first`, and the same rule, `dedup.resolve`: a record
loses to a kept one it is near, never along a chain), and the others are dropped
`semantic_duplicate`, with `lost_to` and `dup_cluster` naming the record kept.

Each judged record gets the score `semantic_distance` (1 - cosine to its seed's centroid), the
manifest's semantic coverage reads it (`coverage` below). Off unless
`curation.semantic.enabled`: the transformer embeds a few hundred texts a second a core, tens
of times the rest of curation (bench/curation.py `--semantic`).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from datagen.checks.check import Check, Context, Verdicts
from datagen.checks.duplicates.dedup import resolve
from datagen.checks.duplicates.quality import DIGITS, best_first, heuristic, stored
from datagen.reasons import DropReason
from datagen.settings import Section
from datagen.similarity import embed


class SemanticConfig(Section):
    """`semantic`: records that ask the same thing in other words (an embedding model shipped
    in a PyPI package; the `semantic` extra). Off by default: see
    docs/guides/semantic-dedup.md for its cost."""

    enabled: bool = Field(default=False, description="Run the semantic near-duplicate check.")
    threshold: float = Field(
        default=0.72, ge=0.5, le=1.0,
        description="Lowest cosine similarity of two records (instruction and the opening of "
                    "the answer) that ask the same thing.")
    threads: int = Field(
        default=0, ge=0,
        description="CPU threads of the embedding model; 0: every core this process may use. "
                    "On a machine shared with other work, 1 is often several times faster.")

    @field_validator("enabled")
    @classmethod
    def _installed(cls, on: bool) -> bool:
        """Checked when the config is read, before any paid call."""
        if on:
            from datagen.similarity.embed import EXTRA_HINT, missing

            lacking = missing()
            if lacking:
                raise ValueError(f"true needs {', '.join(lacking)}: {EXTRA_HINT}")
        return on

ANSWER_WORDS = 12  # the answer's opening embedded with its instruction
EXACT_MAX = 50_000  # up to this many vectors every pair is compared; above, a graph index
NEIGHBOURS = 16  # with the graph index: the nearest this many of each record are looked at


def meaning_texts(instructions: list[str], responses: list[str | None]) -> list[str]:
    """What is embedded per record: the instruction, a line break and the first
    `ANSWER_WORDS` words of the answer (the instruction alone while unanswered)."""
    out = []
    for instruction, response in zip(instructions, responses, strict=True):
        opening = " ".join(response.split()[:ANSWER_WORDS]) if response else ""
        out.append(f"{instruction}\n{opening}" if opening else instruction)
    return out


def pairs_within(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Index pairs (i < j) of unit vectors whose cosine similarity is >= `threshold`."""
    import faiss

    n, dim = vectors.shape
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if n <= EXACT_MAX:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        lims, _, found = index.range_search(vectors, threshold)
        rows = np.repeat(np.arange(n), np.diff(lims).astype(np.int64))
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.add(vectors)
        sims, near = index.search(vectors, NEIGHBOURS)
        hit = (sims >= threshold) & (near >= 0)
        rows, found = np.nonzero(hit)[0], near[hit]
    pairs = np.stack([rows, found], axis=1).astype(np.int64)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    return np.unique(pairs, axis=0)


def distances(vectors: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Per vector, 1 - cosine similarity to the centroid of its seed's vectors."""
    out = np.zeros(len(vectors), dtype=np.float64)
    for seed in pd.unique(seeds):
        rows = seeds == seed
        centre = vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(centre))
        out[rows] = 1.0 - (vectors[rows] @ centre) / norm if norm else 1.0
    return out


def _semantic(ctx: Context) -> Verdicts:
    frame = ctx.frame
    responses = ctx.texts.response.where(ctx.texts.answered, None).tolist()
    vectors = embed.embed(meaning_texts(ctx.texts.instruction.tolist(), responses),
                          ctx.cfg.semantic.threads)
    pairs = pairs_within(vectors, ctx.cfg.semantic.threshold)
    quality = stored(ctx.scores)
    if quality is None:
        quality = heuristic(frame, ctx.texts, ctx.scores).round(DIGITS)
    winner = resolve(np.arange(len(frame)), pairs,
                     best_first(frame, ctx.texts, ctx.scores, quality))
    ids = frame["id"].astype(str).to_numpy()
    lost = winner != np.arange(len(frame))
    reason = pd.Series(np.where(lost, str(DropReason.SEMANTIC_DUPLICATE), None),
                       index=frame.index, dtype="object")
    lost_to = pd.Series(np.where(lost, ids[winner], None), index=frame.index, dtype="object")
    cluster = pd.Series(ids[winner], index=frame.index, dtype="string")
    far = distances(vectors, frame["seed_id"].astype(str).to_numpy()).round(DIGITS)
    return Verdicts(reason, lost_to=lost_to, columns={"dup_cluster": cluster[lost]},
                    scores={"semantic_distance": pd.Series(far, index=frame.index,
                                                           dtype=object)})


CHECK = Check(
    name="semantic", stage="dedup", order=2700, config=SemanticConfig,
    reasons=(DropReason.SEMANTIC_DUPLICATE,),
    inputs=("id", "seed_id", "instruction", "response", "finish_reason", "scores",
            "language_score"),
    section="semantic", level="instruction", run=_semantic,
    active=lambda ctx: ctx.cfg.semantic.enabled,
)


CROWDED = 3  # the most crowded topics a seed's coverage names


def coverage(records: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Per seed, what the semantic check saw ({} when it did not run): instructions judged,
    clusters (the distinct requests it kept), the semantic duplicate share, the spread (mean
    cosine distance of the kept instructions to their seed's centroid: 0 is one request said
    over and over) and the most crowded topics (kept instructions with the most paraphrases
    dropped against them)."""
    if records.empty:
        return {}
    far = pd.Series([json.loads(s).get("semantic_distance") if isinstance(s, str) and s
                     else None for s in records["scores"].tolist()], index=records.index,
                    dtype=object)
    judged = far.notna()
    if not judged.any():
        return {}
    dup = (records["drop_reason"] == str(DropReason.SEMANTIC_DUPLICATE)).fillna(False)
    text = dict(zip(records["id"].astype(str), records["instruction"].fillna(""),
                    strict=True))
    out: dict[str, dict[str, object]] = {}
    for seed, part in records[judged].groupby("seed_id", sort=True):
        lost = dup.loc[part.index]
        heads = part[~lost]
        members = part.loc[lost, "lost_to"].astype(str).value_counts()
        out[str(seed)] = {
            "judged": len(part), "clusters": len(heads),
            "duplicate_share": round(float(lost.mean()), 4),
            "spread": round(float(far.loc[heads.index].astype(float).mean()), 4)
            if len(heads) else None,
            "crowded": [[text.get(head, ""), int(n) + 1]
                        for head, n in members.head(CROWDED).items()],
        }
    return out
