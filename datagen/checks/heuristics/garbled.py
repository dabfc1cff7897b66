"""Garbled text: words run together ("burdenWorkload", "emotionsIn"), random capitals
("eAcTicAtiOn"), and pipeline artefacts
such as "[split]" left in a weak model's answer (`garbled`). Code is not judged: camelCase is
how code is written.

An answer that opens on a stray mark is an artefact too: a first line of nothing but sentence
punctuation ("。" alone, then the answer), or CJK text opening with a full stop or a comma,
which no Chinese or Japanese sentence does. (A CSV may open with a comma: ",Col 1,Col 2".)"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Column, Pattern

_JOINED = re.compile(r"\b[a-z]{3,}[A-Z][a-z]{2,}\b")
_CASE_NOISE = re.compile(r"\b\w*(?:[a-z][A-Z]\w*){2,}[a-z]\w*\b")  # "eAcTicAtiOn", "DaVid"
_ARTEFACT = Pattern(r"\[split\]|\[/?(?:unused\d+|pad|mask|sep|cls)\]|\ufffd{2,}",
                       re.IGNORECASE)
_STRAY_START = re.compile(r"^\s*(?:[。，、；：！？]|[,;:.!?]+[ \t]*\n)")
_CASE_TURN = Pattern(r"[a-z][A-Z]")  # both patterns above need one: most texts have none
MIN_JOINED = 3
MAX_JOINED_SHARE = 0.03


def garbled(prose: str) -> bool:
    if _ARTEFACT.search(prose):
        return True
    if not _CASE_TURN.search(prose):
        return False
    return run_together(prose)


def run_together(prose: str) -> bool:
    """Enough joined or case-noise words (for a text with a lower-to-upper case turn)."""
    words = prose.split()
    joined = len(_JOINED.findall(prose)) + len(_CASE_NOISE.findall(prose))
    return joined >= MIN_JOINED and joined / max(1, len(words)) > MAX_JOINED_SHARE


def _garbled(ctx: Context) -> Verdicts:
    t = ctx.texts
    prose = Column(t.response_prose.tolist())
    hit = _ARTEFACT.mask(prose)
    for i in np.flatnonzero(~hit & _CASE_TURN.mask(prose)).tolist():
        hit[i] = run_together(prose.texts[i])
    hit &= ~t.response_has_code.to_numpy(dtype=bool)
    hit |= np.array([bool(_STRAY_START.match(r)) for r in t.response.tolist()], dtype=bool)
    return Verdicts.where(pd.Series(hit, index=ctx.frame.index), DropReason.GARBLED)


CHECK = Check(
    name="garbled", stage="heuristics", order=1600,
    reasons=(DropReason.GARBLED,), inputs=("response",), section=None,
    level="pair", run=_garbled,
)
