"""`faithfulness`: a grounded record's answer must be supported by its chunk or row.

Two signals, both cheap and both read from the record and its source alone:

- **lexical support**: the share of the response's content words (stop words of its language
  out, compared on their first `STEM` letters so "retained" meets "retain") found in the
  source. An answer written from the passage reuses its terms; an invented one does not.
- **numbers**: a number in the response that is neither in the source nor in the
  instruction is a fact the source does not give (a retention period of 90 days where the
  policy says 30): the clearest contradiction a lexical check can see.

With a judge configured, the judge also scores faithfulness against the source (see
`datagen.checks.judge`) and a score under `curation.faithfulness.judge_threshold` drops the
record too. Records without a source are not judged here.
"""

from __future__ import annotations

import functools
import re

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section


class FaithfulnessConfig(Section):
    """`faithfulness`: a grounded record's answer must be supported by its chunk or row."""

    min_support: float = Field(
        default=0.5, ge=0, le=1,
        description="Lowest share of the response's content words found in its source.")
    numbers: bool = Field(
        default=True, description="Drop a response giving a number its source does not.")
    judge_threshold: float = Field(
        default=6.0, ge=1, le=10,
        description="Lowest judge faithfulness score kept (when a judge is configured).")

STEM = 5
MIN_WORDS = 1  # an answer with no content word ("Yes.") cannot be measured (bench/faithfulness.py)
_TOKEN = re.compile(r"\d+(?:[.,:/]\d+)*|[^\W\d_]+", re.U)


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """The language's stop words (the `stop-words` package); none for one it lacks."""
    from stop_words import StopWordError, get_stop_words

    try:
        return frozenset(get_stop_words((language or "en").split("-")[0]))
    except StopWordError:
        return frozenset()


def _number(token: str) -> str:
    return token.replace(",", "").rstrip(".")


def terms(text: str, language: str) -> tuple[set[str], set[str]]:
    """Content-word stems and numbers of a text."""
    stop = stop_words(language)
    words, numbers = set(), set()
    for tok in _TOKEN.findall(text.lower()):
        if tok[0].isdigit():
            numbers.add(_number(tok))
        elif len(tok) >= 3 and tok not in stop:
            words.add(tok[:STEM])
    return words, numbers


def support(response: str, source: str, instruction: str = "", language: str = "en", *,
            min_words: int = MIN_WORDS) -> tuple[float | None, list[str]]:
    """The share of the response's content words found in the source (None when it has
    fewer than `min_words` to tell), and the numbers it gives that neither the source nor
    the question does."""
    words, numbers = terms(response, language)
    src_words, src_numbers = terms(source, language)
    _, asked = terms(instruction, language)
    share = len(words & src_words) / len(words) if len(words) >= min_words else None
    return share, sorted(numbers - src_numbers - asked)


def unsupported(share: float | None, numbers: list[str], min_support: float,
                check_numbers: bool = True) -> bool:
    """The lexical verdict: too little of the answer in its source, or a number it lacks."""
    return (share is not None and share < min_support) or (check_numbers and bool(numbers))


def _faithful(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.faithfulness
    frame = ctx.frame
    shares: list[float | None] = []
    stray: list[list[str] | None] = []
    drop: list[bool] = []
    for i, meta in enumerate(ctx.texts.metadata):
        ref = meta.get("source")
        text = ctx.refs.sources.get(ref.get("id")) if isinstance(ref, dict) else None
        if text is None:
            shares.append(None)
            stray.append(None)
            drop.append(False)
            continue
        share, numbers = support(ctx.texts.response.iat[i], text,
                                 ctx.texts.instruction.iat[i],
                                 str(frame["language"].iat[i] or "en"))
        judged = ctx.scores.iat[i].get("judge_faithfulness")
        shares.append(None if share is None else round(share, 3))
        stray.append(numbers or None)
        drop.append(unsupported(share, numbers, cfg.min_support, cfg.numbers)
                    or (isinstance(judged, int | float) and judged < cfg.judge_threshold))
    index = frame.index
    return Verdicts.where(pd.Series(drop, index=index, dtype=bool), DropReason.UNSUPPORTED,
                          scores={"support": pd.Series(shares, index=index, dtype=object),
                                  "unsupported_numbers": pd.Series(stray, index=index,
                                                                   dtype=object)})


CHECK = Check(
    name="faithfulness", stage="grounding", order=2300, config=FaithfulnessConfig,
    reasons=(DropReason.UNSUPPORTED,),
    inputs=("instruction", "response", "language", "metadata", "scores"),
    section="faithfulness", level="pair", run=_faithful,
    active=lambda ctx: bool(ctx.refs.sources),
)
