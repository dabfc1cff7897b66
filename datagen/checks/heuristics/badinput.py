"""Bad input: missing fields, values that are not text, invalid Unicode.

Records can come from anywhere (a reference dataset, a user's file, a broken server reply),
so curation checks them before any other check and never crashes on them: such a record is
dropped with its reason, its text coerced to something every later check and the Parquet
writer accept (non-strings become "", lone surrogates become U+FFFD). Huge texts need no
check of their own: the length filter drops them as `too_long`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason

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


def _bad_input(ctx: Context) -> Verdicts:
    """A missing instruction (a missing response only means "not answered yet"), a
    non-string field or invalid Unicode; their text is replaced by a safe version."""
    frame = ctx.frame
    values = {col: ctx.texts.stored(col).tolist() for col in FIELDS}
    not_text = {col: [_not_text(v) for v in values[col]] for col in FIELDS}
    invalid = {col: [_invalid(v) for v in values[col]] for col in FIELDS}
    masks = [
        (DropReason.MISSING_FIELD, [_missing(v) for v in values["instruction"]]),
        (DropReason.NOT_TEXT, [a or b for a, b in zip(*not_text.values(), strict=True)]),
        (DropReason.INVALID_UNICODE, [a or b for a, b in zip(*invalid.values(), strict=True)]),
    ]
    columns = {}
    for col in FIELDS:
        if any(not_text[col]) or any(invalid[col]):
            columns[col] = pd.Series([_clean(v) for v in values[col]], index=frame.index,
                                     dtype="string")
    return Verdicts.first_of(frame.index, [(r, pd.Series(m, index=frame.index, dtype=bool))
                                           for r, m in masks], columns=columns)


CHECK = Check(
    name="bad_input", stage="bad input", order=200,
    reasons=(DropReason.MISSING_FIELD, DropReason.NOT_TEXT, DropReason.INVALID_UNICODE),
    inputs=FIELDS, section=None, level="instruction", run=_bad_input,
)
