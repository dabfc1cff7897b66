"""Evol-Instruct's eliminator, which the paper describes and its released code lacks.

An evolution is dropped when it did not change the meaning (too similar to its parent, scored
like curation's near-dup check), when it copies the evolving prompt's own words (the model
answered the template instead of the request), or when the model could not answer it (a short
"sorry", an empty answer, or nothing but punctuation and stop words).
"""

from __future__ import annotations

import functools
import re

from rapidfuzz import fuzz

from datagen.generate.parse import JSON_MODES, format_line
from datagen.generate.requests import EVOLVE_PROMPT, operators
from datagen.prompts import template
from datagen.reasons import DropReason
from datagen.text import normalize, token_sort

SHINGLE = 4
UNANSWERABLE_MAX_WORDS = 80
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_MARKERS = ("<<<", ">>>")
STOP_WORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been it "
    "this that these those i you he she we they me my your our their its not no yes so do "
    "does did can could will would should may might must".split()
)


def _shingles(text: str) -> set[str]:
    words = normalize(text).split()
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


@functools.cache
def prompt_shingles() -> frozenset[str]:
    """Word 4-grams of everything the evolving prompt says besides the request itself."""
    fixed = [_PLACEHOLDER.sub(" ", template(EVOLVE_PROMPT)), *operators().values()]
    fixed += [format_line(m, single=True) for m in ("text", *JSON_MODES)]
    return frozenset(s for part in fixed for s in _shingles(part))


def copies_prompt(child: str, parent: str) -> bool:
    """Child shares a 4-word run with the prompt's fixed text that its parent does not have."""
    if any(m in child for m in _MARKERS):
        return True
    return bool((_shingles(child) - _shingles(parent)) & prompt_shingles())


def similarity(a: str, b: str) -> float:
    """The curation near-dup score: rapidfuzz ratio on token-sorted normalised text."""
    return float(fuzz.ratio(token_sort(a), token_sort(b)))


def unchanged(child: str, parent: str, threshold: float) -> bool:
    return similarity(child, parent) >= threshold


def unanswerable(response: str | None) -> bool:
    """The paper's signals: a short answer that says sorry, or no content words at all."""
    if response is None or not response.strip():
        return True
    words = normalize(response).split()
    if "sorry" in words and len(words) < UNANSWERABLE_MAX_WORDS:
        return True
    return not any(w not in STOP_WORDS for w in words)


def verdict(child: str, parent: str, threshold: float) -> str | None:
    """The eliminator's verdict on an evolved instruction before it is answered."""
    if copies_prompt(child, parent):
        return str(DropReason.EVOL_PROMPT_COPY)
    if unchanged(child, parent, threshold):
        return str(DropReason.EVOL_UNCHANGED)
    return None
