"""A code task answered without any code: "The testing framework has been created and is now
available." (`no_code`). The task's shape (`datagen.shape`) says code is wanted; the
answer has no fenced block and no line that reads as code."""

from __future__ import annotations

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason


def _no_code(ctx: Context) -> Verdicts:
    t = ctx.texts
    return Verdicts.where((t.shape == "code") & ~t.response_has_code, DropReason.NO_CODE)


CHECK = Check(
    name="no_code", stage="heuristics", order=1700,
    reasons=(DropReason.NO_CODE,), inputs=("instruction", "response"),
    section=None, level="pair", run=_no_code,
)
