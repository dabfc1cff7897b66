"""Self-Instruct / Alpaca rules on instructions: the keyword blacklist (tasks a text model
cannot do: images, files, audio...) and instructions that start with punctuation."""

from __future__ import annotations

import functools
import re

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts


def blacklisted(t: Texts, cfg: CurationConfig) -> pd.Series:
    if not cfg.keyword_blacklist:
        return pd.Series(False, index=t.frame.index)
    pattern = _blacklist_pattern(tuple(cfg.keyword_blacklist))
    # a compiled `re` per text: measured ~20x faster than `Series.str.contains` here
    return pd.Series([pattern.search(x) is not None for x in t.instruction_lc],
                     index=t.frame.index, dtype=bool)


@functools.lru_cache(maxsize=8)
def _blacklist_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w.lower()) for w in words)
    return re.compile(rf"\b(?:{alternatives})s?\b")


def bad_start(t: Texts, cfg: CurationConfig) -> pd.Series:
    """Starts with punctuation; or, for English seeds, with a non-ASCII character."""
    first = t.instruction.str.lstrip().str[:1].fillna("")
    punct = first.str.match(r"[^\w\s]") & ~first.str.match(r"[\"'(¿¡«]")
    english = t.frame["language"].fillna("") == "en"
    non_ascii = english & pd.Series([bool(c) and not c.isascii() for c in first],
                                    index=first.index, dtype=bool)
    return punct | non_ascii
