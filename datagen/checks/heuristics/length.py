"""Length: empty, too short or too long instructions and responses (`curation.length`).

A response is too short only for what its task asked (`datagen.shape`): a label, a
name or a number is a whole answer to a classification, naming or arithmetic task, so those
only need one word; long-form tasks (explain, describe, an essay, a letter, a document) need
`min_long_response_words`. Too long is counted in words and in characters (a 1 MB text in
three words is too long).
"""

from __future__ import annotations

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


def _response(ctx: Context) -> Verdicts:
    t, cfg = ctx.texts, ctx.cfg.length
    need = min_words(t.shape, cfg.min_response_words, cfg.min_long_response_words)
    return Verdicts.first_of(ctx.frame.index, [
        (DropReason.EMPTY, t.response.str.strip() == ""),
        (DropReason.TOO_LONG, (t.response_words > cfg.max_response_words)
         | (t.response.str.len() > cfg.max_chars)),
        (DropReason.TOO_SHORT, t.response_words < need),
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
