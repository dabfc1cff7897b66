"""Length: empty, too short or too long instructions and responses (`curation.length`).

A response is too short only for what its task asked (`datagen.shape`): a label, a
name or a number is a whole answer to a classification, naming or arithmetic task, so those
only need one word; long-form tasks (explain, describe, an essay, a letter, a document) need
`min_long_response_words`. Too long is counted in words and in characters (a 1 MB text in
three words is too long).

An acknowledgement alone ("Sure!", "Of course.", "Sure, here it is:") promises an answer and
gives none, so it is too short for any task but a yes/no question; "Could you fix this code?"
asks for the fix, not for a yes (`acknowledges_only`).
"""

from __future__ import annotations

import re

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section


class LengthConfig(Section):
    """`length`: empty, too short and too long texts. A response's minimum depends on what
    its task asks for (`datagen.shape`): one word answers a classification."""

    min_instruction_words: int = Field(default=2, ge=1)
    max_instruction_words: int = Field(
        default=1500, ge=1, description="Instructions may carry a whole passage to work on.")
    min_response_words: int = Field(
        default=1, ge=1, description="For labels, names, numbers and other short tasks.")
    min_long_response_words: int = Field(
        default=10, ge=1, description="For explain/describe/essay/letter/document tasks.")
    max_response_words: int = Field(default=3000, ge=1)
    max_chars: int = Field(default=30_000, ge=100)

LONG_FORM = ("long", "document")


def _instruction(ctx: Context) -> Verdicts:
    t, cfg = ctx.texts, ctx.cfg.length
    return Verdicts.first_of(ctx.frame.index, [
        (DropReason.EMPTY, t.instruction.str.strip() == ""),
        (DropReason.TOO_SHORT, t.instruction_words < cfg.min_instruction_words),
        (DropReason.TOO_LONG, (t.instruction_words > cfg.max_instruction_words)
         | (t.instruction.str.len() > cfg.max_chars)),
    ])


def min_words(shapes: pd.Series, min_response: int, min_long: int) -> pd.Series:
    return shapes.isin(LONG_FORM).map({True: min_long, False: min_response}).astype(int)


_ASSENT = (r"sure|certainly|of course|absolutely|gladly|definitely|okay|ok|alright|all right|"
           r"no problem|sure thing|with pleasure|bien s[uû]r|volontiers|d accord|nat[uü]rlich|"
           r"gerne|klar|claro|por supuesto|de acuerdo|好的|当然|没问题|沒問題|もちろん|"
           r"わかりました|かしこまりました|承知しました")
_OFFER = (r"i can do that|i can help with that|i (?:d|would) be (?:happy|glad) to(?: help)?|"
          r"(?:happy|glad) to help|here you go|here it is|here you are|let me help")
_ACKNOWLEDGEMENT = re.compile(rf"(?:{_ASSENT})(?: (?:{_OFFER}))?|(?:yes )?(?:{_OFFER})")
ACK_WORDS = 8  # longer than any acknowledgement above
_REQUEST = re.compile(r"^\W*(?:could|can|would|will) you\b")


def acknowledges_only(task: str, response: str) -> bool:
    """Whether `response` is an acknowledgement alone and `task` is no yes/no question
    (see the module docstring)."""
    words = " ".join(re.findall(r"\w+", response.lower()))
    if not _ACKNOWLEDGEMENT.fullmatch(words):
        return False
    task = task.strip().lower()
    return not task.endswith(("?", "？")) or bool(_REQUEST.match(task))


def _response(ctx: Context) -> Verdicts:
    t, cfg = ctx.texts, ctx.cfg.length
    need = min_words(t.shape, cfg.min_response_words, cfg.min_long_response_words)
    # a JSON document's shape is its schema's business (`conformance`), not a word count
    need = need.where(~t.response_json, 1)
    acknowledges = pd.Series(
        [words <= ACK_WORDS and acknowledges_only(task, response) for words, task, response
         in zip(t.response_words, t.task, t.response, strict=True)],
        index=ctx.frame.index, dtype=bool)
    return Verdicts.first_of(ctx.frame.index, [
        (DropReason.EMPTY, t.response.str.strip() == ""),
        (DropReason.TOO_LONG, (t.response_words > cfg.max_response_words)
         | (t.response.str.len() > cfg.max_chars)),
        (DropReason.TOO_SHORT, (t.response_words < need) | acknowledges),
    ])


INSTRUCTION = Check(
    name="instruction_length", stage="heuristics", order=300, config=LengthConfig,
    reasons=(DropReason.EMPTY, DropReason.TOO_SHORT, DropReason.TOO_LONG),
    inputs=("instruction",), section="length", level="instruction", run=_instruction,
)
RESPONSE = Check(
    name="response_length", stage="heuristics", order=1200, config=LengthConfig,
    reasons=(DropReason.EMPTY, DropReason.TOO_LONG, DropReason.TOO_SHORT),
    inputs=("instruction", "response", "metadata"), section="length", level="pair",
    run=_response,
)

CHECKS = (INSTRUCTION, RESPONSE)
