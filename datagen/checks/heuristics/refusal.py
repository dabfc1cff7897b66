"""Refusals and AI boilerplate in responses ("As an AI language model", "I cannot help"),
in English and the most common forms in Chinese, French, German and Spanish."""

from __future__ import annotations

import re

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason

REFUSALS = (
    "as an ai language model", "as an ai assistant", "as a language model", "as an ai model",
    "i'm just an ai", "i am just an ai", "i am an ai", "i'm an ai", "as an artificial intelligence",
    "i cannot help with", "i can't help with", "i can not help with",
    "i cannot assist with", "i can't assist with", "i'm sorry, but i can't",
    "i'm sorry, but i cannot", "i am sorry, but i cannot", "i'm unable to help",
    "i am unable to provide", "i'm not able to provide", "i cannot fulfill",
    "i can't fulfill", "i cannot provide", "i can't provide", "i don't have access to the internet",
    "i do not have access to the internet", "i cannot browse", "i'm sorry, but as an ai",
    "i apologize, but i cannot", "i apologize, but i can't", "i am not able to browse",
    "i do not have enough information to", "i don't have enough information to",
    "without seeing the full", "without more information, i cannot",
    # zh, fr, de, es
    "作为一个人工智能", "作为一个ai", "作为人工智能", "作为一个语言模型",
    "我无法提供", "我不能提供",
    "抱歉，我无法", "抱歉，我不能", "对不起，我无法", "对不起，我不能",
    "en tant qu'ia", "en tant que modèle de langage", "je ne peux pas vous aider",
    "als ki-sprachmodell", "als sprachmodell", "ich kann ihnen dabei nicht helfen",
    "como modelo de lenguaje", "como una ia", "no puedo ayudarte con",
)
_PATTERN = re.compile("|".join(re.escape(p) for p in REFUSALS))


def _refusal(ctx: Context) -> Verdicts:
    # one pyarrow pass over the column: ~15x faster than Python's re on this alternation
    lc = ctx.texts.response_lc.astype("string[pyarrow]").str.replace("\u2019", "'", regex=False)
    return Verdicts.where(lc.str.contains(_PATTERN, regex=True), DropReason.REFUSAL)


CHECK = Check(
    name="refusal", stage="heuristics", order=1400,
    reasons=(DropReason.REFUSAL,), inputs=("response",), section=None,
    level="pair", run=_refusal,
)
