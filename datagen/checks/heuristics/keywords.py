"""Instructions a text model cannot carry out, and instructions that start badly
(`curation.keywords`).

Self-Instruct drops any instruction that mentions an image, a graph, a file, a map, a video...
On real data that drops good tasks: "summarise the plot of Hamlet", "write a function that
reads a file", "what music did Bach write". Here a listed word counts only where the task asks
to make, show or perceive that medium: a making or perceiving verb shortly before it ("draw a
map", "create an image of", "watch the video", "upload the file"), or a reference to media the
text does not contain ("this image", "the attached file", "the chart below"); and "go to",
"visit", "click" only with a website, a link or a page. A task whose product is text about
the medium is a text task: "create a list of subtopics for a video", "write a script for a
video", "generate titles for my podcast recording" (`_TEXT_PRODUCT`).

`bad_start`: starts with punctuation, or, for English seeds, with a non-ASCII character. An
opening quote or bracket of any script is fine: "《Hamlet》是谁写的？" and
"「走れメロス」の作者は？" name a title first (Unicode's opening punctuation, `Ps` and `Pi`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Column, Pattern
from datagen.settings import Section


class KeywordsConfig(Section):
    """`keywords`: tasks a text model cannot do (make or perceive these media)."""

    blacklist: list[str] = Field(
        default_factory=lambda: [
            "image", "graph", "picture", "photo", "file", "map", "drawing", "painting", "plot",
            "video", "audio", "music", "sound", "recording", "flowchart", "diagram",
        ],
        description="Media words; they count only next to a making or perceiving verb.")

_MAKE = (r"(?:draw|paint|sketch|illustrate|create|generate|make|design|produce|render|show|"
         r"display|plot|upload|attach|send|open|download|record|play|listen to|watch|look at|"
         r"see|view|take|insert|edit|crop|animate|film|compose an?)")
_SOURCE = r"(?:this|these|the attached|attached|the following|the given|the above|the below)"
HEAD_CHARS = 250
_WEB = Pattern(r"\b(?:go to|visit|click(?: on)?|open|browse)\s+(?:the\s+|this\s+|a\s+|our\s+)?"
                  r"(?:website|web ?site|link|url|page|web page|site)\b")


# the thing made is text (a list, an outline, a script, titles...): the medium is its topic
_TEXT_PRODUCT = Pattern(
    rf"\b{_MAKE}\s+(?:me\s+)?(?:an?\s+|the\s+|some\s+|\d+\s+|a few\s+)?(?:\S+\s+)?"
    r"(?:list|outline|script|titles?|descriptions?|captions?|ideas|subtopics|topics|summary|"
    r"plan|text|transcript|questions|tags|hashtags|names?|lyrics|prompts?|alt text|narration|"
    r"voice-?over|storyboard|headlines?|talking points)\b")


@functools.lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> Pattern:
    media = "|".join(re.escape(w.lower()) for w in words if w.strip())
    noun = rf"(?:{media})s?"
    return Pattern(
        rf"\b{_MAKE}\b(?:\s+\S+){{0,4}}?\s+{noun}\b"     # make/perceive ... medium
        rf"|\b{_SOURCE}\s+(?:\S+\s+)?{noun}\b"            # media the text does not hold
        rf"|\b{noun}\s+(?:below|above|attached)\b")


def _blacklisted(ctx: Context) -> pd.Series:
    words = tuple(ctx.cfg.keywords.blacklist)
    if not words:
        return pd.Series(False, index=ctx.frame.index)
    pattern = _pattern(words)
    # the task only, at its start: an input or a quoted passage may mention anything
    heads = Column([t.lower()[:HEAD_CHARS] for t in ctx.texts.task])
    medium = pattern.mask(heads) & ~_TEXT_PRODUCT.mask(heads)
    return pd.Series(medium | _WEB.mask(heads), index=ctx.frame.index, dtype=bool)


def opens(char: str) -> bool:
    """An opening quote or bracket, in any script, or a Spanish opening mark; not a brace (a
    template's "{instruction}" left unfilled)."""
    return (unicodedata.category(char) in ("Ps", "Pi") and char != "{") or char in "\"'¿¡"


def _bad_start(ctx: Context) -> pd.Series:
    first = ctx.texts.instruction.str.lstrip().str[:1].fillna("")
    punct = first.str.match(r"[^\w\s]") & ~first.map(opens).astype(bool) \
        & ~ctx.texts.instruction.str.lstrip().str.match(r"[-*\u2022] \S")  # a bullet
    english = ctx.frame["language"].fillna("") == "en"
    non_ascii = english & pd.Series([bool(c) and not c.isascii() and not c.isalpha()
                                     for c in first], index=first.index, dtype=bool)
    return punct | non_ascii


def _keywords(ctx: Context) -> Verdicts:
    return Verdicts.first_of(ctx.frame.index, [(DropReason.BLACKLIST, _blacklisted(ctx)),
                                               (DropReason.BAD_START, _bad_start(ctx))])


CHECK = Check(
    name="keywords", stage="heuristics", order=400, config=KeywordsConfig,
    reasons=(DropReason.BLACKLIST, DropReason.BAD_START),
    inputs=("instruction", "language"), section="keywords", level="instruction",
    run=_keywords,
)
