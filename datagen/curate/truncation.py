"""Responses cut off by the token limit (`finish_reason == "length"`)."""

from __future__ import annotations

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason


def _truncated(ctx: Context) -> Verdicts:
    return Verdicts.where(ctx.frame["finish_reason"].fillna("") == "length",
                          DropReason.TRUNCATED)


CHECK = Check(
    name="truncation", reasons=(DropReason.TRUNCATED,), inputs=("finish_reason",),
    section=None, level="pair", run=_truncated,
)
