"""Chat-template leakage: a response that carries a model's special tokens or runs on into
the next turn of the conversation ("### Human:", "<|im_end|>", "[INST]", a new "User:" line).

Weak and base models do this often; fine-tuning on it teaches a model to talk to itself. A
"User:" or "Assistant:" line counts only when the task did not ask for a dialogue or script.
"""

from __future__ import annotations

import re

import pandas as pd

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import DropReason

_TOKENS = re.compile(
    r"<\|(?:im_start|im_end|endoftext|end|user|assistant|system|eot_id|start_header_id)\|>"
    r"|</?s>|\[/?INST\]|<</?SYS>>|<(?:end_of_turn|start_of_turn)>"
    r"|###\s*(?:human|instruction|response|input|assistant|user|system)\b", re.IGNORECASE)
_TURN = re.compile(r"(?:^|\n)\s*(?:human|user|assistant|ai|gpt|bot)\s*:", re.IGNORECASE)
_DIALOGUE = re.compile(r"\b(?:dialog(?:ue)?|conversation|chat|script|transcript|interview|"
                       r"role-?play|exchange)\b", re.IGNORECASE)


def _leak(ctx: Context) -> Verdicts:
    out = []
    for ins, res in zip(ctx.texts.instruction, ctx.texts.response, strict=True):
        out.append(bool(_TOKENS.search(res))
                   or (bool(_TURN.search(res)) and not _DIALOGUE.search(ins)))
    return Verdicts.where(pd.Series(out, index=ctx.frame.index), DropReason.CHAT_LEAK)


CHECK = Check(
    name="chat_leak", reasons=(DropReason.CHAT_LEAK,), inputs=("instruction", "response"),
    section=None, level="pair", run=_leak,
)
