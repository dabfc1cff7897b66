"""A code task answered without any code: "The testing framework has been created and is now
available." (`no_code`). The task's shape (`datagen.shape`) says code is wanted; the
answer has no fenced block and no line that reads as code. A short answer that ends by asking
the user a question ("What task would you like to implement in Python?") is a clarification of
a vague request, not a missing answer: up to `CLARIFY_WORDS` words, it is left to the judge."""

from __future__ import annotations

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason

CLARIFY_WORDS = 50


def _no_code(ctx: Context) -> Verdicts:
    t = ctx.texts
    asks_back = t.response.str.rstrip().str.endswith(("?", "\uff1f")) \
        & (t.response_words <= CLARIFY_WORDS)
    return Verdicts.where((t.shape == "code") & ~t.response_has_code & ~asks_back,
                          DropReason.NO_CODE)


CHECK = Check(
    name="no_code", stage="heuristics", order=1700,
    reasons=(DropReason.NO_CODE,), inputs=("instruction", "response"),
    section=None, level="pair", run=_no_code,
)
