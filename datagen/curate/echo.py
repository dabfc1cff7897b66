"""A response that only repeats the instruction (Alpaca: output equals input)."""

from __future__ import annotations

import pandas as pd
from rapidfuzz import fuzz

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason
from datagen.text import normalize

SIMILAR = 90


def _echo(ctx: Context) -> Verdicts:
    out = []
    for ins, res in zip(ctx.texts.instruction, ctx.texts.response, strict=True):
        a, b = normalize(ins), normalize(res)
        out.append(bool(b) and (a == b or fuzz.ratio(a, b) >= SIMILAR))
    return Verdicts.where(pd.Series(out, index=ctx.frame.index), DropReason.ECHO)


CHECK = Check(
    name="echo", reasons=(DropReason.ECHO,), inputs=("instruction", "response"),
    section=None, level="pair", run=_echo,
)
