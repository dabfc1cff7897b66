"""The reference checks: what a record must not copy from outside the run.

- `seed_overlap`: an instruction that copies one of the seed's own examples;
- `reference_duplicate`: an instruction already in a reference set (`references.sets`: earlier
  run folders, published datasets, JSONL/CSV/Parquet/TXT files);
- `eval_contamination`: a pair whose instruction or response shares a word n-gram with an
  eval set's questions or answers, or whose instruction is a near copy of an eval question;
  training on the test set would make the user's evaluation meaningless;
- `published_duplicate`: appending, an instruction already in the dataset appended to.

Each user turn of a record is matched (`Texts.user_turns`: the instruction, the later user
turns of a conversation and the tool calls it made); the first one that matches decides.
All four match with one `ReferenceIndex` (`datagen.similarity.pairs`); each drop names what
it lost to (`lost_to`: `example:3`, `reference:17`, `eval:5`, or the published record's id).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section


class ReferencesConfig(Section):
    """`references`: texts from outside the run that new records must not copy."""

    sets: list[str] = Field(
        default_factory=list,
        description="Earlier runs or datasets (folders/files): instructions already there drop.")
    eval_sets: list[str] = Field(
        default_factory=list, description="Eval sets (jsonl/csv/txt/parquet) to decontaminate: "
        "their questions and answers.")
    ngram: int = Field(
        default=8, ge=3, le=50, description="Word n-gram shared with an eval text = contaminated.")


def _verdicts(ctx: Context, found: np.ndarray, reason: str, prefix: str,
              ids: list[str] | None = None) -> Verdicts:
    hit = pd.Series(found >= 0, index=ctx.frame.index)
    names = [None if f < 0 else (ids[f] if ids is not None else f"{prefix}:{f}")
             for f in found.tolist()]
    return Verdicts.where(hit, reason, lost_to=pd.Series(names, index=ctx.frame.index,
                                                         dtype="object"))


def _any_turn(ctx: Context, match: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Per row, what `match` found for the first of its user turns that matches (-1: none),
    in one call over every turn of the rows."""
    turns = ctx.texts.user_turns
    if all(len(t) == 1 for t in turns):
        return np.asarray(match([t[0] for t in turns]))
    flat = [text for t in turns for text in t]
    owner = np.repeat(np.arange(len(turns)), [len(t) for t in turns])
    found = np.asarray(match(flat))
    out = np.full(len(turns), -1, dtype=found.dtype)
    for row, hit in zip(owner[::-1].tolist(), found[::-1].tolist(), strict=True):
        if hit >= 0:  # walked backwards: the first turn's match is written last
            out[row] = hit
    return out


def _seed_overlap(ctx: Context) -> Verdicts:
    found = _any_turn(ctx, lambda texts: ctx.refs.examples.nearest(
        texts, ctx.cfg.dedup.near_threshold))
    return _verdicts(ctx, found, DropReason.SEED_OVERLAP, "example")


def _reference(ctx: Context) -> Verdicts:
    index = ctx.refs.sets(ctx.cfg.references.sets)
    found = _any_turn(ctx, lambda texts: index.nearest(texts, ctx.cfg.dedup.near_threshold))
    return _verdicts(ctx, found, DropReason.REFERENCE_DUPLICATE, "reference")


def _eval(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.references
    index = ctx.refs.evals(cfg.eval_sets)
    answered = ctx.texts.answered.to_numpy()
    found = _any_turn(ctx, lambda texts: index.ngram_match(texts, cfg.ngram))
    by_answer = index.ngram_match(ctx.texts.response.tolist(), cfg.ngram)
    found = np.where((found < 0) & answered, by_answer, found)
    near = _any_turn(ctx, lambda texts: index.nearest(texts, ctx.cfg.dedup.near_threshold))
    found = np.where(found < 0, near, found)
    return _verdicts(ctx, found, DropReason.EVAL_CONTAMINATION, "eval")


def _published(ctx: Context) -> Verdicts:
    assert ctx.refs.published is not None
    found = _any_turn(ctx, lambda texts: ctx.refs.published_index.nearest(
        texts, ctx.cfg.dedup.near_threshold))
    ids = ctx.refs.published["id"].astype(str).tolist()
    return _verdicts(ctx, found, DropReason.PUBLISHED_DUPLICATE, "published", ids)


SEED_OVERLAP = Check(
    name="seed_overlap", stage="references", order=700,
    reasons=(DropReason.SEED_OVERLAP,),
    inputs=("instruction", "metadata"),
    section="dedup", level="instruction", run=_seed_overlap,
    active=lambda ctx: bool(ctx.refs.seed_examples))
REFERENCE_SETS = Check(
    name="reference_sets", stage="references", order=800, config=ReferencesConfig,
    reasons=(DropReason.REFERENCE_DUPLICATE,),
    inputs=("instruction", "metadata"),
    section="references", level="instruction", run=_reference,
    active=lambda ctx: bool(ctx.cfg.references.sets))
EVAL_SETS = Check(
    name="eval_sets", stage="references", order=900,
    reasons=(DropReason.EVAL_CONTAMINATION,),
    inputs=("instruction", "response", "metadata"), section="references", level="instruction",
    run=_eval,
    active=lambda ctx: bool(ctx.cfg.references.eval_sets))
PUBLISHED = Check(
    name="published", stage="references", order=2800,
    reasons=(DropReason.PUBLISHED_DUPLICATE,),
    inputs=("instruction", "metadata"),
    section="dedup", level="instruction", run=_published,
    active=lambda ctx: ctx.refs.published is not None and not ctx.refs.published.empty)

CHECKS = (SEED_OVERLAP, REFERENCE_SETS, EVAL_SETS, PUBLISHED)
