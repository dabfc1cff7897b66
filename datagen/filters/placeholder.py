"""Template text left in a response: "[Your Name]", "Lorem ipsum", "<insert ...>"."""

from __future__ import annotations

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts

_PATTERN = (
    r"\[(?:your|insert|company|client|recipient|name|date|address)[^\]]{0,40}\]"
    r"|<(?:insert|your)[^>]{0,40}>|lorem ipsum|\{\{[^}]{0,40}\}\}"
)


def placeholder(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.response_lc.str.contains(_PATTERN, regex=True)
