"""Chat-template leakage: a response that carries a model's special tokens or runs on into
the next turn of the conversation ("### Human:", "<|im_end|>", "[INST]", a new "User:" line).

Weak and base models do this often; fine-tuning on it teaches a model to talk to itself. A
"User:" or "Assistant:" line counts only when the task did not ask for a dialogue or script.
"""

from __future__ import annotations

import re

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Column, Pattern

_TOKENS = Pattern(
    r"<\|(?:im_start|im_end|endoftext|end|user|assistant|system|eot_id|start_header_id)\|>"
    r"|</?s>|\[/?INST\]|<</?SYS>>|<(?:end_of_turn|start_of_turn)>"
    r"|###\s*(?:human|instruction|response|input|assistant|user|system)\b", re.IGNORECASE)
_TURN = Pattern(r"(?:^|\n)\s*(?:human|user|assistant|ai|gpt|bot)\s*:", re.IGNORECASE)
_DIALOGUE = Pattern(r"\b(?:dialog(?:ue)?|conversation|chat|script|transcript|interview|"
                       r"role-?play|exchange)\b", re.IGNORECASE)


def _leak(ctx: Context) -> Verdicts:
    responses = Column(ctx.texts.response.tolist())
    hit = _TOKENS.mask(responses) | (_TURN.mask(responses)
                                     & ~_DIALOGUE.mask(ctx.texts.instruction.tolist()))
    return Verdicts.where(pd.Series(hit, index=ctx.frame.index), DropReason.CHAT_LEAK)


CHECK = Check(
    name="chat_leak", stage="heuristics", order=1500,
    reasons=(DropReason.CHAT_LEAK,), inputs=("instruction", "response"),
    section=None, level="pair", run=_leak,
)
