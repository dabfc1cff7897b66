"""Self-Instruct / Alpaca rules on instructions: the keyword blacklist (tasks a text model
cannot do: images, files, audio...) and instructions that start with punctuation."""

from __future__ import annotations

import re

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts


def blacklisted(t: Texts, cfg: CurationConfig) -> pd.Series:
    if not cfg.keyword_blacklist:
        return pd.Series(False, index=t.frame.index)
    words = "|".join(re.escape(w.lower()) for w in cfg.keyword_blacklist)
    return t.instruction_lc.str.contains(rf"\b(?:{words})s?\b", regex=True)


def bad_start(t: Texts, cfg: CurationConfig) -> pd.Series:
    """Starts with punctuation; or, for English seeds, with a non-ASCII character."""
    first = t.instruction.str.lstrip().str[:1].fillna("")
    punct = first.str.match(r"[^\w\s]") & ~first.str.match(r"[\"'(¿¡«]")
    english = t.frame["language"].fillna("") == "en"
    non_ascii = english & first.map(lambda c: bool(c) and not c.isascii())
    return punct | non_ascii
