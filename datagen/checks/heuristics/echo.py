"""A response that restates its instruction instead of answering it (`echo`):

- it repeats the instruction (Alpaca: output equals input): nearly the same text, with under
  `MIN_NEW_WORDS` of its tokens new;
- it copies a passage of the instruction word for word, such as the example answer the
  instruction carries (`MIN_COPY_WORDS` tokens or more, almost none new);
- the task asks for a change (rewrite, paraphrase, translate, correct, summarise, convert, in
  the languages we detect) and the answer is its input back, unchanged but for case and
  punctuation (`_TRANSFORM`); a near copy is no echo here: a spelling fix changes two letters.

Tokens are words where the text is spaced, and character bigrams where it is CJK (Chinese
and Japanese have no spaces: split on spaces, a whole sentence is one "word" and a copy reads
as all new).
"""

from __future__ import annotations

import pandas as pd
from rapidfuzz import fuzz

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Pattern
from datagen.text import CJK, input_part, normalize

SIMILAR = 90
MIN_NEW_WORDS = 0.2  # an answer that fills in a template it was given adds words of its own
COPY = 97  # partial ratio: the answer is a passage of the instruction
MIN_COPY_WORDS = 20
MIN_INPUT_CHARS = 12  # a shorter input may well come back unchanged ("fix: 'OK'")

# tasks whose answer must differ from their input
_TRANSFORM = Pattern(
    r"\b(?:rewrite|re-?word|rephrase|paraphrase|translate|correct|fix the|proofread|edit|"
    r"summari[sz]e|shorten|simplify|convert|transform|make (?:it|this|the \w+) (?:more|less)|"
    r"réécri\w*|reformule\w*|tradui\w*|corrige\w*|résume\w*|umformulier\w*|übersetz\w*|"
    r"korrigier\w*|fasse \w+ zusammen|reescrib\w*|parafrase\w*|traduc\w*|corrig\w*|resum\w*)\b"
    r"|改写|改寫|重写|翻译|翻譯|润色|潤色|修改|纠正|總結|总结|概括|言い換え|書き換え|翻訳|訳して|"
    r"添削|要約|校正")


def tokens(text: str) -> list[str]:
    """Words, or character bigrams of a CJK text (see the module docstring)."""
    if CJK.search(text):
        chars = text.replace(" ", "")
        return [chars[i:i + 2] for i in range(len(chars) - 1)] or [chars]
    return text.split()


def echoes(instruction: str, response: str) -> bool:
    """Whether `response` repeats or copies `instruction` (both normalised:
    `datagen.text.normalize`)."""
    if not response:
        return False
    if instruction == response:
        return True
    words = tokens(response)
    known = set(tokens(instruction))
    new = (len(words) - sum(map(known.__contains__, words))) / len(words)
    if new < MIN_NEW_WORDS and fuzz.ratio(instruction, response) >= SIMILAR:
        return True
    return len(words) >= MIN_COPY_WORDS and new < MIN_NEW_WORDS / 4 and \
        fuzz.partial_ratio(response, instruction) >= COPY


def _echo(ctx: Context) -> Verdicts:
    t = ctx.texts
    transform = _TRANSFORM.mask(t.task.str.lower())
    out = []
    for ins, ins_normal, res, asks_change in zip(
            t.instruction, t.instruction_normal, t.response_normal, transform, strict=True):
        hit = echoes(ins_normal, res)
        if not hit and asks_change and res:
            given = normalize(input_part(ins))
            hit = len(given) >= MIN_INPUT_CHARS and given == res
        out.append(hit)
    return Verdicts.where(pd.Series(out, index=ctx.frame.index), DropReason.ECHO)


CHECK = Check(
    name="echo", stage="heuristics", order=1900,
    reasons=(DropReason.ECHO,), inputs=("instruction", "response"),
    section=None, level="pair", run=_echo,
)
