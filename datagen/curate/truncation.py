"""Responses cut off: `finish_reason == "length"`, or an answer that stops where its content
should begin ("Here are some suggestions:", "The most popular podcasts are:") or in the middle
of a list (a trailing comma). The text signs catch cut answers whose finish reason is unknown
(imported data) or wrong (some servers report "stop" at their own limits)."""

from __future__ import annotations

import re

import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason

_CUT = re.compile(r"[:,(\[{]\s*$")


def _truncated(ctx: Context) -> Verdicts:
    by_limit = ctx.frame["finish_reason"].fillna("") == "length"
    by_text = pd.Series([bool(_CUT.search(r)) for r in ctx.texts.response],
                        index=ctx.frame.index, dtype=bool)
    return Verdicts.where(by_limit | by_text, DropReason.TRUNCATED)


CHECK = Check(
    name="truncation", reasons=(DropReason.TRUNCATED,), inputs=("finish_reason", "response"),
    section=None, level="pair", run=_truncated,
)
