"""Empty, too short and too long texts (words and characters, both fields)."""

from __future__ import annotations

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts


def empty_instruction(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.instruction.str.strip() == ""


def empty_response(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.response.str.strip() == ""


def instruction_too_short(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.instruction_words < cfg.min_instruction_words


def instruction_too_long(t: Texts, cfg: CurationConfig) -> pd.Series:
    return (t.instruction_words > cfg.max_instruction_words) | (
        t.instruction.str.len() > cfg.max_chars
    )


def response_too_short(t: Texts, cfg: CurationConfig) -> pd.Series:
    return t.response_words < cfg.min_response_words


def response_too_long(t: Texts, cfg: CurationConfig) -> pd.Series:
    return (t.response_words > cfg.max_response_words) | (t.response.str.len() > cfg.max_chars)
