"""Prompt debris: "instructions" that are fragments or echoes of the generation prompt.

A weak model asked for "5 new requests ... another situation, another detail, another angle"
answers with lines such as "5 (another detail request)" or "Another detail that is unique,
one-to-one list will allow you to provide 20 requests". They parse as list items but are not
tasks. An instruction is debris (`prompt_debris`) when any of these hold:

- it copies one of the prompts that make instructions (`PROMPTS`): a word 6-gram in common,
  or two distinct 4-grams (n-grams of stop words only do not count);
- it talks about the generation itself: "another detail", "new request(s)" (not "more
  detail": that is how a user asks to expand a sentence), "the examples
  above", "one-to-one", "provide 20 requests", "here is another example of the request",
  "must be written in English", or starts like an answer key ("The correct answer would be");
- it is the seed's task description itself (a near copy, at the dedup threshold);
- it starts with a bare number followed by a parenthesis, or is only a label ("Request 3:").

None of these hit the real pairs of the dev set (`bench/quality.py` reports it).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.regex import Pattern
from datagen.text import normalize, word_ngrams

SHORT, LONG = 4, 6
PROMPTS = ("expand.v1", "expand_system.v1", "bootstrap.v1", "topics.v1", "personas.v1",
           "evolve.v1", "evolve_operators.v1", "repair.v1")
STOP = frozenset(
    "a an the of to in on for and or but is are be it its this that these those each one "
    "with by as at from all any must may can could would should will not no do does you your "
    "they their them he she his her we our us i me my what which who whom how so than then "
    "there here if only also such".split())
_META = Pattern(
    r"\b(?:another|new|next|same|different|unique)\s+(?:detail|request|instruction|angle|situation)s?\b"
    r"|\b(?:the|these|those)\s+(?:above|previous|following|given|other)\s+(?:examples?|"
    r"requests?|tasks?|instructions?)\b"
    r"|\b(?:examples?|requests?|tasks?)\s+(?:above|below)\b"
    r"|\bone-to-one\b"
    r"|\b(?:provide|write|give|generate|create|make|list)\s+\d+\s+(?:new\s+|more\s+)?"
    r"(?:requests|instructions|tasks|prompts)\b"
    r"|\b\d+\s+new\s+examples\b"
    r"|\bhere(?:'s| is| are)\s+(?:another|one more|the next|a new)\s+(?:example|question|"
    r"request|task)s?\b"
    r"|^\W*the correct answer (?:would be|is)\b"
    r"|\bmust (?:not )?be (?:written|made available)\b"
    r"|\b(?:of this kind|such requests|answerable in writing)\b")
_NUMBER_PAREN = Pattern(r"^\s*\d{1,3}\s*\(")
_LABEL_ONLY = re.compile(r"^\s*(?:new\s+)?(?:request|instruction|task|prompt|question|example)"
                         r"\s*\d*\s*[:.)-]?\s*$", re.IGNORECASE)


@functools.cache
def template_ngrams(n: int) -> frozenset[str]:
    """Word n-grams of the prompts that make instructions, placeholders out."""
    grams: set[str] = set()
    for name in PROMPTS:
        text = resources.files("datagen.prompts").joinpath(f"{name}.txt").read_text("utf-8")
        for part in re.split(r"\{[^}]*\}|\n", text):
            words = normalize(part).split()
            for g in word_ngrams(words, n) if len(words) >= n else ():
                if not set(g.split()) <= STOP:
                    grams.add(g)
    return frozenset(grams)


@functools.cache
def template_words() -> frozenset[str]:
    """Every word of a template n-gram: an n-gram in common lies in a run of these."""
    return frozenset(w for n in (SHORT, LONG) for g in template_ngrams(n) for w in g.split())


def _template_runs(words: list[str]) -> list[list[str]]:
    """The runs of at least `SHORT` consecutive template words (most texts have none)."""
    known, runs, run = template_words(), [], []
    for w in words:
        if w in known:
            run.append(w)
            continue
        if len(run) >= SHORT:
            runs.append(run)
        run = []
    if len(run) >= SHORT:
        runs.append(run)
    return runs


def copies_prompt(text: str) -> bool:
    words = normalize(text).split()
    if len(words) < SHORT:
        return False
    runs = _template_runs(words)
    if not runs:
        return False
    if len(words) >= LONG and any(word_ngrams(run, LONG) & template_ngrams(LONG)
                                  for run in runs if len(run) >= LONG):
        return True
    grams = set().union(*(word_ngrams(run, SHORT) for run in runs))
    return len(grams & template_ngrams(SHORT)) >= 2


def debris_mask(instructions: list[str]) -> list[bool]:
    hit = _META.mask([t.lower() for t in instructions]) | _NUMBER_PAREN.mask(instructions)
    return [bool(h or _LABEL_ONLY.match(t) or copies_prompt(t))
            for h, t in zip(hit.tolist(), instructions, strict=True)]


def _debris(ctx: Context) -> Verdicts:
    heads = [t.split("\n\nInput:", 1)[0] for t in ctx.texts.instruction]
    hit = pd.Series(debris_mask(heads), index=ctx.frame.index, dtype=bool)
    if ctx.refs.seed_tasks:
        found = ctx.refs.tasks.nearest(heads, ctx.cfg.dedup.near_threshold)
        hit |= pd.Series(found >= 0, index=ctx.frame.index)
    return Verdicts.where(hit, DropReason.PROMPT_DEBRIS)


CHECK = Check(
    name="debris", stage="heuristics", order=500,
    reasons=(DropReason.PROMPT_DEBRIS,), inputs=("instruction",),
    section=None, level="instruction", run=_debris,
)
