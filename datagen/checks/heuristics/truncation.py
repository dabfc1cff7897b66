"""Responses cut off: `finish_reason == "length"`, or text that shows the cut. The text signs
catch cut answers whose finish reason is unknown (imported data) or wrong (some servers report
"stop" at their own limits):

- it stops where its content should begin ("Here are some suggestions:", "The most popular
  podcasts are:") or in the middle of a list (a trailing comma, an open bracket);
- a code fence is opened and never closed, or a JSON answer (one that starts with `{` or `[`)
  ends with brackets still open;
- its last paragraph is a long run of prose that stops mid-sentence: no closing punctuation
  after at least `MID_SENTENCE_CHARS` characters (CJK text: `MID_SENTENCE_CJK` characters,
  or `MID_CLAUSE_CJK` when a clause mark shows a sentence under way: "总之，它可以促进物种的").
  A list item, a heading, a table row, a signature or a label ends without punctuation and is
  short (a list item as long as a paragraph is held to a paragraph's rule); a translation is
  held to its source: when the task's text ends a sentence, so must the answer
  (`_translation_cut`);
- it ends on a broken character (U+FFFD): the byte stream was cut inside a character;
- its last list item stops bare where the items before it end sentences ("7. ... otherwise.",
  "8. ... based on its current direction"): items of one list are written alike (`_list_cut`);
- its last line stops on a word no English sentence ends on: an article, a conjunction, a
  preposition that takes an object, an auxiliary ("a random set of", "The tenth tour is"),
  `DANGLING`. Prose only: a line of code may well end on `a` ("return x or a"), so the line
  must open on a capital or a list marker, unindented, with no brackets or `=` in it.
"""

from __future__ import annotations

import re

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.shape import TRANSLATE
from datagen.text import CJK, CJK_CHARS, input_part

_CUT = re.compile(r"[:,(\[{]\s*$")
_FENCE = re.compile(r"^\s*```", re.MULTILINE)
_END = re.compile(r"[.!?;。！？…»\"'”’)\]}*`>|~_\-\u3002\uff09\u300d\u300f\u3011]\s*$")
_LIST_LINE = re.compile(r"^\s*(?:[-*+\u2022#>|]|\d{1,3}[.)、]|[a-z][.)]\s)")
MID_SENTENCE_CHARS = 200  # a prose line this long that stops without punctuation was cut
MID_SENTENCE_CJK = 60
MID_CLAUSE_CJK = 12
TAG_CHARS = 40  # a hashtag or a handle is a word or a few, not a paragraph after a stray "#"
# a CJK sentence under way: a comma or semicolon, then CJK text to the end (a title has no
# comma; "、" enumerates a list, and a list may well end without a stop)
_CLAUSE_CJK = re.compile(rf"[，；][^，；]*[{CJK_CHARS}]$")


def _unclosed(text: str) -> bool:
    if len(_FENCE.findall(text)) % 2:
        return True
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return False
    return text.count("{") + text.count("[") > text.count("}") + text.count("]")


def _mid_sentence(last: str) -> bool:
    if not last or not last[-1].isalnum() or _END.search(last):
        return False
    tail = last.split()[-1]
    if tail[:1] in ("#", "@") and len(tail) <= TAG_CHARS:  # a hashtag, a handle end a post
        return False
    cjk = len(CJK.findall(last))
    if _LIST_LINE.match(last):  # an item may end without a stop, unless it runs on and on
        return cjk >= MID_SENTENCE_CJK or (cjk == 0 and len(last) >= MID_SENTENCE_CHARS)
    if cjk >= MID_CLAUSE_CJK and _CLAUSE_CJK.search(last):
        return True
    return cjk >= MID_SENTENCE_CJK or (cjk == 0 and len(last) >= MID_SENTENCE_CHARS)


# what ends a sentence, for the items before a list's last: a bracket or a code span ends an
# item without ending a sentence ("* The Sloan Digital Sky Survey (SDSS)")
_STOP = re.compile(r"[.!?;。！？…]\W{0,3}$")
LIST_SIBLINGS = 3  # the items before the last that must all end sentences (at least 2)


def _list_cut(text: str, last: str) -> bool:
    if not _LIST_LINE.match(last) or _END.search(last):
        return False
    lines = (line.strip() for line in text.split("\n"))
    before = [line for line in lines if _LIST_LINE.match(line)][-LIST_SIBLINGS - 1:-1]
    return len(before) >= 2 and all(_STOP.search(line) for line in before)


# English words no sentence ends on (written in lower case: a title may end on "To")
DANGLING = frozenset(
    "a an the and or but nor of to with by from than because whose is are was were will would "
    "should could can must my your our their its his".split())
_CODE_CHARS = re.compile(r"[=(){}\[\];<>]")


def _dangling(line: str) -> bool:
    """A prose line, not code: unindented, opening on a capital or a list marker."""
    words = line.split()
    return len(words) >= 3 and words[-1] in DANGLING and not line[0].isspace() \
        and (line[0].isupper() or bool(_LIST_LINE.match(line))) and not _CODE_CHARS.search(line)


_BROKEN = "\ufffd"  # a character cut in the middle of its bytes: the stream stopped there


def cut_by_text(text: str) -> bool:
    """Whether a response's text shows that it was cut (see the module docstring)."""
    if not text:
        return False
    line = text.rstrip().rsplit("\n", 1)[-1]
    last = line.strip()
    return bool(_CUT.search(text)) or _unclosed(text) or last.endswith(_BROKEN) \
        or _mid_sentence(last) or (bool(last) and last[-1].isalnum()
                                   and (_dangling(line) or _list_cut(text, last)))


_SENTENCE_END = re.compile(r"[.!?。！？…][\s\"'”’»」』)）]*$")
SOURCE_CHARS = 20  # a shorter source ("Translate: 'Good morning.'") may well lose its stop


def _translation_cut(instruction: str, response: str) -> bool:
    """A translation whose source ends a sentence and whose answer does not."""
    source = input_part(instruction)
    return len(source) >= SOURCE_CHARS and bool(_SENTENCE_END.search(source)) \
        and bool(response.strip()) and not _SENTENCE_END.search(response)


def _truncated(ctx: Context) -> Verdicts:
    t = ctx.texts
    by_limit = ctx.frame["finish_reason"].fillna("") == "length"
    translation = TRANSLATE.mask(t.task.tolist())
    by_text = pd.Series([cut_by_text(r) or (asks and _translation_cut(i, r)) for i, r, asks
                         in zip(t.instruction, t.response, translation, strict=True)],
                        index=ctx.frame.index, dtype=bool)
    return Verdicts.where(by_limit | by_text, DropReason.TRUNCATED)


CHECK = Check(
    name="truncation", stage="heuristics", order=1300,
    reasons=(DropReason.TRUNCATED,),
    inputs=("instruction", "finish_reason", "response"),
    section=None, level="pair", run=_truncated,
)
