"""Personal data in instructions and responses: emails, phone numbers, credit card numbers
(Luhn-checked), IBANs (mod-97-checked) and US SSNs.

Legal and medical corpora are full of them, and a fine-tuned model repeats what it saw. Per
`curation.pii.mode` a hit is flagged (`scores.pii`), masked (replaced by a typed placeholder such as
`[EMAIL]`) or dropped. Check digits keep order numbers and dates from being taken for cards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts, plain
from datagen.reasons import DropReason
from datagen.regex import Pattern
from datagen.settings import Section


class PIIConfig(Section):
    """`pii`: emails, phones, cards (Luhn), IBANs, US SSNs."""

    mode: Literal["off", "flag", "mask", "drop"] = Field(
        default="flag", description="flag in scores, mask with [KIND], or drop the record.")

# every kind but emails has 9+ digits close together: one search skips most texts
_DIGIT_RUN = Pattern(r"\d(?:\W{0,3}\w?\W{0,2}\d){8}")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w-])"
)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _card_ok(m: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", m.group())
    return 13 <= len(digits) <= 19 and luhn(digits)


def _phone_ok(m: re.Match[str]) -> bool:
    text = m.group()
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", text):
        return False  # the shape of an SSN (an invalid one, or `_SSN` had taken it)
    # a phone has 9-15 digits and some separator or a leading +/( (not a bare number or year)
    return 9 <= len(digits) <= 15 and (text[0] in "+(" or bool(re.search(r"[ .-]", text)))


# order matters: cards and IBANs before phones, so their digits are not taken for a phone
KINDS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    ("EMAIL", _EMAIL, lambda m: True),
    ("IBAN", _IBAN, lambda m: iban_valid(m.group())),
    ("CREDIT_CARD", _CARD, _card_ok),
    ("SSN", _SSN, lambda m: True),
    ("PHONE", _PHONE, _phone_ok),
)


def scan(text: str) -> tuple[list[str], str]:
    """The kinds of PII found, and the text with each occurrence masked."""
    found: list[str] = []
    if not isinstance(text, str) or ("@" not in text and not _DIGIT_RUN.search(text)):
        return found, text
    for kind, pattern, ok in KINDS:
        def mask(m: re.Match[str], kind: str = kind,
                 ok: Callable[[re.Match[str]], bool] = ok) -> str:
            if not ok(m):
                return m.group()
            found.append(kind)
            return f"[{kind}]"
        text = pattern.sub(mask, text)
    return sorted(set(found)), text


def might_hold(texts: list[str | None]) -> np.ndarray:
    """Per text, whether it has what every kind needs: an "@" or 9 digits close together."""
    at = np.array([t is not None and "@" in t for t in texts], dtype=bool)
    return at | _DIGIT_RUN.mask([t or "" for t in texts])


def _pii(ctx: Context) -> Verdicts:
    """Flag (`scores.pii`), mask (new text for the columns) or drop, per `curation.pii.mode`."""
    mode = ctx.cfg.pii.mode
    frame = ctx.frame
    kinds: list[list[str]] = []
    masked: dict[str, list[str | None]] = {"instruction": [], "response": []}
    values = {col: plain(ctx.texts.stored(col), None).tolist() for col in masked}
    maybe = might_hold(values["instruction"]) | might_hold(values["response"])
    for ins, res, look in zip(values["instruction"], values["response"], maybe.tolist(),
                              strict=True):
        seen: set[str] = set()
        for col, value in (("instruction", ins), ("response", res)):
            if value is not None and look:
                k, value = scan(value)
                seen.update(k)
            masked[col].append(value)
        kinds.append(sorted(seen))
    has = pd.Series([bool(k) for k in kinds], index=frame.index)
    scores = {"pii": pd.Series([k or None for k in kinds], index=frame.index, dtype=object)}
    columns = {}
    if mode == "mask" and has.any():
        columns = {col: pd.Series(values, index=frame.index, dtype="string")[has]
                   for col, values in masked.items()}
    if mode == "drop":
        return Verdicts.where(has, DropReason.PII, scores=scores)
    return Verdicts(Verdicts.none(frame.index).reason, scores=scores, columns=columns)


CHECK = Check(
    name="pii", stage="heuristics", order=1000, config=PIIConfig,
    reasons=(DropReason.PII,), inputs=("instruction", "response"), section="pii",
    level="instruction", run=_pii, active=lambda ctx: ctx.cfg.pii.mode != "off",
)
