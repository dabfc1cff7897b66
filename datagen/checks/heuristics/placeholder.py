"""Template text left in a response: "[Your Name]", "<insert date>", "{{company}}", "Lorem
ipsum" (`curation.placeholder`).

Placeholders are what a good answer holds when the task asks for a document whose particulars
the user did not give: a cover-letter template, an offer letter to "[Candidate]", an NDA
clause between "[Disclosing Party]" and "[Receiving Party]". So with `allow_in_documents`
(default) they are dropped only where the task expects another shape of answer
(`datagen.shape`): "[insert answer here]" is no answer to a question. Lorem ipsum is
dropped everywhere, unless the instruction asks for filler text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.checks.heuristics.pii import KINDS
from datagen.reasons import DropReason
from datagen.regex import Column, Pattern
from datagen.settings import Section


class PlaceholderConfig(Section):
    """`placeholder`: template text left in a response."""

    allow_in_documents: bool = Field(
        default=True, description="Keep [Name]-style placeholders where the task asks for a "
        "letter, template, form or other document whose particulars it does not give.")

_WORDS = (r"your|insert|enter|add|company|client|customer|recipient|candidate|name|date|"
          r"address|phone|email|title|position|amount|number|city|state|country|product|"
          r"party|employer|employee|organi[sz]ation|manager|team|job|link|url|here|x+")
_PLACEHOLDER = re.compile(
    rf"\[(?:{_WORDS})\b[^\]\n]{{0,40}}\](?!\()"          # [Your Name], [insert date]
    r"|<(?:insert|your|enter|add)\b[^>\n]{0,40}>"         # <insert date>
    r"|\{\{[^}\n]{0,40}\}\}"                              # {{company}}
    r"|\b(?:xxx+|_{5,})\b", re.IGNORECASE)
# [Candidate], [Job Title], [CompanyName], [Product_Code]
_TITLED = re.compile(r"\[[A-Z][a-z]+(?:(?: |_)?[A-Z][A-Za-z]+){0,4}\](?!\()")
# the section marks of songs, scripts and transcripts are not placeholders
_SECTIONS = re.compile(r"\[(?:intro|outro|verse|chorus|pre-chorus|bridge|hook|refrain|interlude|"
                       r"beat drops|applause|laughter|music|pause|silence|inaudible|crosstalk|"
                       r"sic|citation needed)(?: \d+)?\]", re.IGNORECASE)
_LOREM = Pattern(r"lorem ipsum", re.IGNORECASE)
# a task that mentions a document at all may get one back with blanks for its particulars
_ASKS_DOCUMENT = Pattern(
    r"\b(?:write|draft|create|compose|prepare|generate|design|make|find|give me|provide|"
    r"suggest|structure|format|use)\b.{0,40}\b(?:templates?|forms?|letters?|e-?mails?|memos?|"
    r"invitations?|resumes?|cv|contracts?|agreements?|clauses?|proposals?|announcements?|"
    r"posts?|ads?|scripts?)\b", re.IGNORECASE)
_FILLER_ASKED = Pattern(r"lorem|placeholder|dummy text|filler", re.IGNORECASE)


_MASKED = re.compile(r"\[(?:" + "|".join(kind for kind, _, _ in KINDS) + r")\]")


def has_placeholder(text: str) -> bool:
    """Template text, not counting the `[EMAIL]`-style marks the PII check masks with."""
    if not ("[" in text or "<" in text or "{{" in text or "_____" in text
            or "xxx" in text.lower()):
        return False  # what every pattern needs: most texts have none of it
    text = _SECTIONS.sub("", _MASKED.sub("", text))
    return bool(_PLACEHOLDER.search(text) or _TITLED.search(text))


def _placeholder(ctx: Context) -> Verdicts:
    allow = ctx.cfg.placeholder.allow_in_documents
    asked = Column(ctx.texts.instruction.tolist())
    lorem = _LOREM.mask(ctx.texts.response.tolist()) & ~_FILLER_ASKED.mask(asked)
    template = np.array([has_placeholder(r) for r in ctx.texts.response], dtype=bool)
    if allow and template.any():
        template &= ~((ctx.texts.shape == "document").to_numpy(dtype=bool)
                      | _ASKS_DOCUMENT.mask(asked))
    return Verdicts.where(pd.Series(lorem | template, index=ctx.frame.index),
                          DropReason.PLACEHOLDER)


CHECK = Check(
    name="placeholder", stage="heuristics", order=1800, config=PlaceholderConfig,
    reasons=(DropReason.PLACEHOLDER,), inputs=("instruction", "response"),
    section="placeholder", level="pair", run=_placeholder,
)
