"""The reference checks: what a record must not copy from outside the run.

- `seed_overlap`: an instruction that copies one of the seed's own examples;
- `reference_duplicate`: an instruction already in a reference set (`references.sets`: earlier
  run folders, published datasets, JSONL/CSV/Parquet/TXT files);
- `eval_contamination`: a pair whose instruction or response shares a word n-gram with an
  eval set's questions or answers, or whose instruction is a near copy of an eval question;
  training on the test set would make the user's evaluation meaningless;
- `published_duplicate`: appending, an instruction already in the dataset appended to.

All four match with one `ReferenceIndex` (`datagen.curate.similarity`); each drop names what
it lost to (`lost_to`: `example:3`, `reference:17`, `eval:5`, or the published record's id).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason


def _verdicts(ctx: Context, found: np.ndarray, reason: str, prefix: str,
              ids: list[str] | None = None) -> Verdicts:
    hit = pd.Series(found >= 0, index=ctx.frame.index)
    names = [None if f < 0 else (ids[f] if ids is not None else f"{prefix}:{f}")
             for f in found.tolist()]
    return Verdicts.where(hit, reason, lost_to=pd.Series(names, index=ctx.frame.index,
                                                         dtype="object"))


def _seed_overlap(ctx: Context) -> Verdicts:
    found = ctx.refs.examples.nearest(ctx.texts.instruction.tolist(), ctx.cfg.dedup.near_threshold)
    return _verdicts(ctx, found, DropReason.SEED_OVERLAP, "example")


def _reference(ctx: Context) -> Verdicts:
    index = ctx.refs.sets(ctx.cfg.references.sets)
    found = index.nearest(ctx.texts.instruction.tolist(), ctx.cfg.dedup.near_threshold)
    return _verdicts(ctx, found, DropReason.REFERENCE_DUPLICATE, "reference")


def _eval(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.references
    index = ctx.refs.evals(cfg.eval_sets)
    ins, res = ctx.texts.instruction.tolist(), ctx.texts.response.tolist()
    answered = ctx.texts.answered.to_numpy()
    found = index.ngram_match(ins, cfg.ngram)
    by_answer = index.ngram_match(res, cfg.ngram)
    found = np.where((found < 0) & answered, by_answer, found)
    near = index.nearest(ins, ctx.cfg.dedup.near_threshold)
    found = np.where(found < 0, near, found)
    return _verdicts(ctx, found, DropReason.EVAL_CONTAMINATION, "eval")


def _published(ctx: Context) -> Verdicts:
    assert ctx.refs.published is not None
    found = ctx.refs.published_index.nearest(ctx.texts.instruction.tolist(),
                                             ctx.cfg.dedup.near_threshold)
    ids = ctx.refs.published["id"].astype(str).tolist()
    return _verdicts(ctx, found, DropReason.PUBLISHED_DUPLICATE, "published", ids)


SEED_OVERLAP = Check(
    name="seed_overlap", reasons=(DropReason.SEED_OVERLAP,), inputs=("instruction",),
    section="dedup", level="instruction", run=_seed_overlap,
    active=lambda ctx: bool(ctx.refs.seed_examples))
REFERENCE_SETS = Check(
    name="reference_sets", reasons=(DropReason.REFERENCE_DUPLICATE,), inputs=("instruction",),
    section="references", level="instruction", run=_reference,
    active=lambda ctx: bool(ctx.cfg.references.sets))
EVAL_SETS = Check(
    name="eval_sets", reasons=(DropReason.EVAL_CONTAMINATION,),
    inputs=("instruction", "response"), section="references", level="instruction", run=_eval,
    active=lambda ctx: bool(ctx.cfg.references.eval_sets))
PUBLISHED = Check(
    name="published", reasons=(DropReason.PUBLISHED_DUPLICATE,), inputs=("instruction",),
    section="dedup", level="instruction", run=_published,
    active=lambda ctx: ctx.refs.published is not None and not ctx.refs.published.empty)
