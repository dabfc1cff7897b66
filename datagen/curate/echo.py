"""A response that only repeats the instruction (Alpaca: output equals input), or copies a
passage of it word for word, such as the example answer the instruction carries."""

from __future__ import annotations

import pandas as pd
from rapidfuzz import fuzz

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason

SIMILAR = 90
MIN_NEW_WORDS = 0.2  # an answer that fills in a template it was given adds words of its own
COPY = 97  # partial ratio: the answer is a passage of the instruction
MIN_COPY_WORDS = 20


def _echo(ctx: Context) -> Verdicts:
    out = []
    for a, b in zip(ctx.texts.instruction_normal, ctx.texts.response_normal, strict=True):
        if not b:
            out.append(False)
            continue
        words = b.split()
        new = (len(words) - sum(map(set(a.split()).__contains__, words))) / len(words)
        copied = len(words) >= MIN_COPY_WORDS and new < MIN_NEW_WORDS / 4 and \
            fuzz.partial_ratio(b, a) >= COPY
        out.append(a == b or (new < MIN_NEW_WORDS and fuzz.ratio(a, b) >= SIMILAR) or copied)
    return Verdicts.where(pd.Series(out, index=ctx.frame.index), DropReason.ECHO)


CHECK = Check(
    name="echo", reasons=(DropReason.ECHO,), inputs=("instruction", "response"),
    section=None, level="pair", run=_echo,
)
