"""Template text left in a response: "[Your Name]", "<insert date>", "{{company}}", "Lorem
ipsum" (`curation.placeholder`).

Placeholders are what a good answer holds when the task asks for a document whose particulars
the user did not give: a cover-letter template, an offer letter to "[Candidate]", an NDA
clause between "[Disclosing Party]" and "[Receiving Party]". So with `allow_in_documents`
(default) they are dropped only where the task expects another shape of answer
(`datagen.curate.shape`): "[insert answer here]" is no answer to a question. Lorem ipsum is
dropped everywhere, unless the instruction asks for filler text.
"""

from __future__ import annotations

import re

import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.pii import KINDS
from datagen.curate.reasons import DropReason

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
_LOREM = re.compile(r"lorem ipsum", re.IGNORECASE)
# a task that mentions a document at all may get one back with blanks for its particulars
_ASKS_DOCUMENT = re.compile(
    r"\b(?:write|draft|create|compose|prepare|generate|design|make|find|give me|provide|"
    r"suggest|structure|format|use)\b.{0,40}\b(?:templates?|forms?|letters?|e-?mails?|memos?|"
    r"invitations?|resumes?|cv|contracts?|agreements?|clauses?|proposals?|announcements?|"
    r"posts?|ads?|scripts?)\b", re.IGNORECASE)
_FILLER_ASKED = re.compile(r"lorem|placeholder|dummy text|filler", re.IGNORECASE)


_MASKED = re.compile(r"\[(?:" + "|".join(kind for kind, _, _ in KINDS) + r")\]")


def has_placeholder(text: str) -> bool:
    """Template text, not counting the `[EMAIL]`-style marks the PII check masks with."""
    text = _SECTIONS.sub("", _MASKED.sub("", text))
    return bool(_PLACEHOLDER.search(text) or _TITLED.search(text))


def _placeholder(ctx: Context) -> Verdicts:
    allow = ctx.cfg.placeholder.allow_in_documents
    out = []
    for ins, res, shape in zip(ctx.texts.instruction, ctx.texts.response, ctx.texts.shape,
                               strict=True):
        lorem = bool(_LOREM.search(res)) and not _FILLER_ASKED.search(ins)
        template = has_placeholder(res) and not (allow and (shape == "document" or
                                                            _ASKS_DOCUMENT.search(ins)))
        out.append(lorem or template)
    return Verdicts.where(pd.Series(out, index=ctx.frame.index), DropReason.PLACEHOLDER)


CHECK = Check(
    name="placeholder", reasons=(DropReason.PLACEHOLDER,), inputs=("instruction", "response"),
    section="placeholder", level="pair", run=_placeholder,
)
