"""The curation stage: mark `keep`/`drop_reason` on every record, never delete.

Verdicts are derived from the records alone (plus the reference and eval sets named in the
config, and judge scores already stored), so curation can run again after each generation
round, on resume, or on a finished run with a new config, and always gives the same answer.
Instruction-level checks run before responses are paid for; pair-level checks run once
responses exist. The first reason wins, so the funnel reads in the order below.

Input columns: id, instruction, response, finish_reason, language, seed_id, drop_reason, scores.
Output columns: keep, drop_reason, dup_cluster, detected_language, language_score, scores
(pii, judge), and, with `curation.pii: mask`, masked instruction/response.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd

from datagen.config import CurationConfig
from datagen.dedup import dedup_exact, dedup_near, overlap_with
from datagen.filters import (
    Filter,
    Texts,
    echo,
    judge,
    keywords,
    language,
    length,
    placeholder,
    repetition,
    truncation,
)
from datagen.filters import refusal as refusal_filter
from datagen.filters.badinput import mark_bad_input
from datagen.filters.pii import mark_pii
from datagen.filters.references import load_texts, mark_contaminated, mark_reference_duplicates
from datagen.records import DropReason, drop

GENERATION_REASONS = frozenset({DropReason.UNPARSEABLE, DropReason.LLM_ERROR})

INSTRUCTION_FILTERS = (
    Filter(DropReason.EMPTY, "instruction", length.empty_instruction),
    Filter(DropReason.TOO_SHORT, "instruction", length.instruction_too_short),
    Filter(DropReason.TOO_LONG, "instruction", length.instruction_too_long),
    Filter(DropReason.BLACKLIST, "instruction", keywords.blacklisted),
    Filter(DropReason.BAD_START, "instruction", keywords.bad_start),
)
PAIR_FILTERS = (
    Filter(DropReason.EMPTY, "pair", length.empty_response),
    Filter(DropReason.TRUNCATED, "pair", truncation.truncated),
    Filter(DropReason.TOO_LONG, "pair", length.response_too_long),  # 1 MB in 3 words: too long
    Filter(DropReason.TOO_SHORT, "pair", length.response_too_short),
    Filter(DropReason.REFUSAL, "pair", refusal_filter.refusal),
    Filter(DropReason.PLACEHOLDER, "pair", placeholder.placeholder),
    Filter(DropReason.ECHO, "pair", echo.echo),
    Filter(DropReason.REPETITION, "pair", repetition.repetition),
)


@functools.lru_cache(maxsize=8)
def _external(paths: tuple[str, ...], answers: bool) -> tuple[str, ...]:
    """Texts of reference or eval sets, read once per process."""
    return tuple(load_texts(list(paths), answers=answers))


def reset_verdicts(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every curation verdict cleared; generation failures stay dropped."""
    out = df.copy()
    generated = ~out["drop_reason"].isin([str(r) for r in GENERATION_REASONS])
    out.loc[generated, "keep"] = True
    out.loc[generated, "drop_reason"] = pd.NA
    out["dup_cluster"] = pd.NA
    return out


def curate_instructions(
    df: pd.DataFrame, cfg: CurationConfig, seed_examples: list[str]
) -> pd.DataFrame:
    """Instruction-level verdicts: bad input, cheap checks, overlap with seed examples,
    reference and eval sets, then exact and near dedup."""
    out = reset_verdicts(df)
    if out.empty:
        return out
    mark_bad_input(out)
    texts = Texts.of(out)
    for f in INSTRUCTION_FILTERS:
        drop(out, f.check(texts, cfg), f.reason)
    overlap_with(out, "instruction", seed_examples, cfg.near_duplicate_threshold,
                 DropReason.SEED_OVERLAP)
    if cfg.reference_sets:
        refs = list(_external(tuple(cfg.reference_sets), False))
        mark_reference_duplicates(out, refs, cfg.near_duplicate_threshold)
    if cfg.eval_sets:
        evals = list(_external(tuple(cfg.eval_sets), False))
        mark_contaminated(out, evals, cfg.near_duplicate_threshold, cfg.decontamination_ngram)
    dedup_exact(out, ("instruction",), DropReason.EXACT_DUPLICATE)
    dedup_near(out, "instruction", cfg.near_duplicate_threshold,
               method=cfg.near_duplicate_method, allpairs_max=cfg.allpairs_max)
    out["dup_cluster"] = out["dup_cluster"].fillna(out["id"])
    return out


def curate_pairs(df: pd.DataFrame, cfg: CurationConfig, *, seed: int = 0) -> pd.DataFrame:
    """Pair-level verdicts on records that have a response (others are left as they are)."""
    out = df.copy()
    answered = out["response"].notna()
    if not answered.any():
        return out
    part = out[answered].copy()
    mark_bad_input(part)
    texts = Texts.of(part)
    for f in PAIR_FILTERS:
        drop(part, f.check(texts, cfg), f.reason)
    drop(part, language.wrong_language(texts, cfg, seed), DropReason.WRONG_LANGUAGE)
    if cfg.eval_sets:
        evals = list(_external(tuple(cfg.eval_sets), False))
        mark_contaminated(part, evals, cfg.near_duplicate_threshold, cfg.decontamination_ngram)
    mark_pii(part, cfg.pii)
    drop(part, judge.low_score(texts, cfg), DropReason.JUDGE_LOW_SCORE)  # reads scores only
    dedup_exact(part, ("instruction", "response"), DropReason.EXACT_DUPLICATE)
    out = out.astype({c: part[c].dtype for c in ("instruction", "response")})
    out.loc[answered] = part
    return out.astype(df.dtypes.to_dict())


def mark_surplus(df: pd.DataFrame, targets: dict[str, int]) -> pd.DataFrame:
    """Keep at most the target number of answered pairs per seed, in generation order;
    instructions left unanswered when the target was met are surplus too."""
    out = df.copy()
    if out.empty:
        return out
    live = out["keep"].fillna(False).astype(bool)
    answered = live & out["response"].notna()
    rank = answered.astype(int).groupby(out["seed_id"]).cumsum()
    target = out["seed_id"].map(targets).fillna(0)
    drop(out, (answered & (rank > target)) | (live & out["response"].isna()), DropReason.SURPLUS)
    return out


def curate(
    df: pd.DataFrame, cfg: CurationConfig, *, seed_examples: list[str],
    targets: dict[str, int] | None, seed: int = 0,
    after_instructions: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """All verdicts, from scratch. `after_instructions` adds verdicts made at generation time
    (a strategy's "not novel") before pairs are judged; `targets=None` (between generation
    rounds) leaves surplus unmarked."""
    out = curate_instructions(df, cfg, seed_examples)
    if after_instructions is not None:
        out = after_instructions(out)
    out = curate_pairs(out, cfg, seed=seed)
    return out if targets is None else mark_surplus(out, targets)
