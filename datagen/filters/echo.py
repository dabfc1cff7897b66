"""A response that only repeats the instruction (Alpaca: output equals input)."""

from __future__ import annotations

import pandas as pd
from rapidfuzz import fuzz

from datagen.config import CurationConfig
from datagen.filters import Texts
from datagen.text import normalize


def echo(t: Texts, cfg: CurationConfig) -> pd.Series:
    out = []
    for ins, res in zip(t.instruction, t.response, strict=True):
        a, b = normalize(ins), normalize(res)
        out.append(bool(b) and (a == b or fuzz.ratio(a, b) >= 90))
    return pd.Series(out, index=t.frame.index)
