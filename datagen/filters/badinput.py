"""Bad input: missing fields, values that are not text, invalid Unicode.

Records can come from anywhere (a reference dataset, a user's file, a broken server reply),
so curation checks them before any other filter and never crashes on them: such a record is
dropped with its reason, its text coerced to something every later filter and the Parquet
writer accept (non-strings become "", lone surrogates become U+FFFD). Huge texts need no
check of their own: the length filter drops them as `too_long`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from datagen.records import DropReason, drop

FIELDS = ("instruction", "response")
# lone surrogates (not encodable as UTF-8) and C0 controls other than tab, newline, CR
_INVALID = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return False
    na = pd.isna(value)  # an array for list values: those are not missing, just not text
    return bool(na) if np.ndim(na) == 0 else False


def _not_text(value: Any) -> bool:
    return not _missing(value) and not isinstance(value, str)


def _invalid(value: Any) -> bool:
    return isinstance(value, str) and _INVALID.search(value) is not None


def _clean(value: Any) -> Any:
    if _missing(value):
        return pd.NA
    if not isinstance(value, str):
        return ""
    if _INVALID.search(value) is None:
        return value
    return _INVALID.sub("\ufffd", value)


def mark_bad_input(df: pd.DataFrame) -> dict[str, int]:
    """Drop records with a missing instruction (a missing response only means "not answered
    yet"), a non-string field or invalid Unicode; make their text safe. In place."""
    counts: dict[str, int] = {}
    values = {col: df[col].tolist() for col in FIELDS}
    flags = {col: [(_missing(v), _not_text(v), _invalid(v)) for v in values[col]]
             for col in FIELDS}
    for k, (reason, cols) in enumerate((
        (DropReason.MISSING_FIELD, ("instruction",)),
        (DropReason.NOT_TEXT, FIELDS),
        (DropReason.INVALID_UNICODE, FIELDS),
    )):
        hit = [any(flags[c][i][k] for c in cols) for i in range(len(df))]
        counts[str(reason)] = drop(df, pd.Series(hit, index=df.index, dtype=bool), reason)
    for col in FIELDS:
        if any(f[1] or f[2] for f in flags[col]):
            df[col] = pd.array([_clean(v) for v in values[col]], dtype="string")
    return counts
