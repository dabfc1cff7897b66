"""Chat-template leakage: a response that carries a model's special tokens or runs on into
the next turn of the conversation ("### Human:", "<|im_end|>", "[INST]", a new "User:" line).

Weak and base models do this often; fine-tuning on it teaches a model to talk to itself. A
"User:" or "Assistant:" line counts only when the task did not ask for a dialogue or script.
A command-line chat writes the user's turns as "> ..." lines: an answer that quotes its own
instruction so and later holds another "> ..." line has run on into the next turn.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Column, Pattern
from datagen.text import normalize

_TOKENS = Pattern(
    r"<\|(?:im_start|im_end|endoftext|end|user|assistant|system|eot_id|start_header_id)\|>"
    r"|</?s>|\[/?INST\]|<</?SYS>>|<(?:end_of_turn|start_of_turn)>"
    r"|###\s*(?:human|instruction|response|input|assistant|user|system)\b", re.IGNORECASE)
_TURN = Pattern(r"(?:^|\n)\s*(?:human|user|assistant|ai|gpt|bot)\s*:", re.IGNORECASE)
_DIALOGUE = Pattern(r"\b(?:dialog(?:ue)?|conversation|chat|script|transcript|interview|"
                       r"role-?play|exchange)\b", re.IGNORECASE)


_PROMPT_LINE = re.compile(r"^\s*>\s?(.*)$", re.MULTILINE)


def next_prompt(instruction: str, response: str) -> bool:
    """A "> " line that repeats the instruction, and another "> " line after it."""
    if ">" not in response:
        return False
    quoted = [normalize(m) for m in _PROMPT_LINE.findall(response)]
    asked = normalize(instruction)
    own = [i for i, q in enumerate(quoted) if q and q == asked]
    return bool(own) and own[0] < len(quoted) - 1


def _leak(ctx: Context) -> Verdicts:
    responses = Column(ctx.texts.response.tolist())
    hit = _TOKENS.mask(responses) | (_TURN.mask(responses)
                                     & ~_DIALOGUE.mask(ctx.texts.instruction.tolist()))
    hit |= np.array([next_prompt(i, r) for i, r in zip(ctx.texts.instruction.tolist(),
                                                         responses.texts, strict=True)])
    return Verdicts.where(pd.Series(hit, index=ctx.frame.index), DropReason.CHAT_LEAK)


CHECK = Check(
    name="chat_leak", stage="heuristics", order=1500,
    reasons=(DropReason.CHAT_LEAK,), inputs=("instruction", "response"),
    section=None, level="pair", run=_leak,
)
