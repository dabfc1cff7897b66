"""Responses cut off by the token limit (`finish_reason == "length"`)."""

from __future__ import annotations

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts


def truncated(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.frame["finish_reason"].fillna("") == "length"
