"""Refusals and AI boilerplate in responses ("As an AI language model", "I cannot help")."""

from __future__ import annotations

import re

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts

REFUSALS = (
    "as an ai language model", "as an ai assistant", "as a language model",
    "i'm just an ai", "i am just an ai", "i am an ai", "i'm an ai",
    "i cannot help with", "i can't help with", "i can not help with",
    "i cannot assist with", "i can't assist with", "i'm sorry, but i can't",
    "i'm sorry, but i cannot", "i am sorry, but i cannot", "i'm unable to help",
    "i am unable to provide", "i'm not able to provide", "i cannot fulfill",
    "i can't fulfill", "i cannot provide", "i can't provide",
)
_PATTERN = re.compile("|".join(re.escape(p) for p in REFUSALS))


def refusal(t: Texts, cfg: CurationConfig) -> pd.Series:
    lc = t.response_lc.str.replace("\u2019", "'", regex=False)
    return lc.str.contains(_PATTERN, regex=True)
