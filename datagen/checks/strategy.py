"""The verdicts the generation strategies gave when they made a record (`metadata.verdict`):
Self-Instruct's `not_novel` (too close to the bootstrap pool) and Evol-Instruct's eliminator
(`evol_unchanged`, `evol_prompt_copy`, `evol_unanswerable`). They are decided at generation
time, recorded on the record, and applied here like any other verdict, so re-curating a run
keeps them."""

from __future__ import annotations

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason

REASONS = (DropReason.NOT_NOVEL, DropReason.EVOL_UNCHANGED, DropReason.EVOL_PROMPT_COPY,
           DropReason.EVOL_UNANSWERABLE)


def _strategy(ctx: Context) -> Verdicts:
    return Verdicts.recorded(ctx, REASONS)


CHECK = Check(
    name="strategy", stage="generation", order=600,
    reasons=REASONS, inputs=("metadata",), section=None,
    level="instruction", run=_strategy,
)
