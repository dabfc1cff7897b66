"""Repetitive responses: a model stuck in a loop (`curation.repetition`).

Gopher's rules (Rae et al. 2021) were made for web pages; on answers they drop good text: an
answer repeats the phrases of its question, and a list repeats its frame on every line ("How
would you rate the ...?", "| --- |"). Measured on the dev set, what separates a loop from an
answer is how much of the text sits in repeated word 8-grams (loops: 0.52 and more; good
answers: at most 0.38), so these rules, on responses of `min_words` words or more (in text
written mostly in CJK characters, which has no spaces, a character is a unit and an n-gram of
words is one of twice as many characters: `units`):

- `max_repeated_8gram_share`: share of characters inside word 8-grams that occur twice;
- `max_top_2gram_share`: share of characters taken by the most frequent word 2-gram;

and, on any response but code, a list whose short items repeat: at least `min_list_items`
items of up to four words (lines, or comma/semicolon separated) of which more than
`max_duplicate_item_share` repeat an earlier one ("innovative, disruptive, innovative, ..."),
or whose lines repeat one pattern: the same line but for its numbers (a list of made-up links
"https://stackoverflow.com/questions/2374321/remove-item-in-array", ".../40616132/...").
A line needs `PATTERN_LETTERS` letters outside its numbers to count: the rows of a
multiplication table ("7 x 3 = 21") share a pattern by nature.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section
from datagen.text import CJK


class RepetitionConfig(Section):
    """`repetition`: loops, measured as repeated n-grams (long responses) and repeated list
    items (any response); defaults from the dev-set sweep (`bench/quality.py --sweep`)."""

    min_words: int = Field(default=50, ge=1, description="Shorter responses: n-gram rules off.")
    max_repeated_8gram_share: float = Field(
        default=0.45, gt=0, le=1,
        description="Share of characters inside word 8-grams that occur more than once.")
    max_top_2gram_share: float = Field(
        default=0.35, gt=0, le=1, description="Share of characters in the most frequent 2-gram.")
    min_list_items: int = Field(default=8, ge=2, description="Lists this long are checked.")
    max_duplicate_item_share: float = Field(
        default=0.30, ge=0, le=1, description="Share of a list's items that repeat another.")

_ITEMS = re.compile(r"\s*(?:,|;)\s*")
_WORDLIKE = re.compile(r"^[^\W\d_][\w' -]*$")
ITEM_WORDS = 4  # list items this short are names, labels, keywords: they should not repeat
_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,3}[.)])\s*")
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"[^\W\d_]")
PATTERN_LETTERS = 3


def top_ngram_fraction(words: list[str], n: int, total: int) -> float:
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return 0.0 if count < 2 else sum(map(len, gram)) * count / total


def duplicate_ngram_fraction(words: list[str], n: int, total: int) -> float:
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(words)
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered[i:i + n] = [True] * n
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / total


def duplicate_item_share(text: str) -> tuple[int, float]:
    """Short items of a list (lines, or comma/semicolon separated), and the share of them
    that repeat an earlier one."""
    items = []
    for line in text.splitlines():
        line = line.rsplit(":", 1)[-1]  # "Here are some adjectives: a, b, c" -> "a, b, c"
        items += [_MARKER.sub("", x).strip(" .").lower() for x in _ITEMS.split(line)]
    items = [x for x in items if _WORDLIKE.match(x) and len(x.split()) <= ITEM_WORDS]
    if not items:
        return 0, 0.0
    return len(items), 1 - len(set(items)) / len(items)


def pattern_line_share(text: str) -> tuple[int, float]:
    """Lines (list markers removed), and the share of them that repeat an earlier line's
    pattern: the line with its numbers masked."""
    lines = [_DIGITS.sub("0", _MARKER.sub("", x).strip()) for x in text.splitlines()]
    lines = [x for x in lines if len(_LETTER.findall(x)) >= PATTERN_LETTERS]
    if not lines:
        return 0, 0.0
    return len(lines), 1 - len(set(lines)) / len(lines)


def repetitive(text: str, cfg: RepetitionConfig, prose: str | None = None,
               lines: bool = False) -> bool:
    """`prose`: the text without its code (lists are judged on it; None: no prose);
    `lines`: judge the text's lines for one repeated pattern (not for code: its lines do)."""
    # a list of `min_list_items` needs as many lines, commas and semicolons: most texts have not
    if prose and len(prose.splitlines()) + prose.count(",") + prose.count(";") \
            >= cfg.min_list_items:
        n_items, dup_items = duplicate_item_share(prose)
        if n_items >= cfg.min_list_items and dup_items > cfg.max_duplicate_item_share:
            return True
    if lines and text.count("\n") + 1 >= cfg.min_list_items:
        n_lines, dup_lines = pattern_line_share(text)
        if n_lines >= cfg.min_list_items and dup_lines > cfg.max_duplicate_item_share:
            return True
    words, per_word = units(text)
    if len(words) < cfg.min_words * per_word:
        return False
    total = sum(map(len, words))
    # every word of a repeated n-gram is itself repeated: a cheap bound skips most texts
    counts = Counter(words)
    repeated = sum(len(w) * c for w, c in counts.items() if c > 1) / total
    if repeated <= min(cfg.max_top_2gram_share, cfg.max_repeated_8gram_share):
        return False
    return (top_ngram_fraction(words, 2 * per_word, total) > cfg.max_top_2gram_share
            or duplicate_ngram_fraction(words, 8 * per_word, total)
            > cfg.max_repeated_8gram_share)


def units(text: str) -> tuple[list[str], int]:
    """The units the n-gram rules count, and how many of them make a word. Chinese and
    Japanese write no spaces, so a whole sentence would be one "word" and a loop of them
    would pass: in a text written mostly in CJK characters each character is a unit, and
    two make a word (as `datagen.text.word_count` counts them)."""
    if text.isascii() or not CJK.search(text):
        return text.split(), 1
    spaced = CJK.sub(r" \g<0> ", text).split()
    cjk = sum(1 for u in spaced if len(u) == 1 and CJK.match(u))
    return spaced, 2 if cjk * 2 > len(spaced) else 1


def _repetition(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.repetition
    t = ctx.texts
    # URLs read as code lines (`//`), so the line patterns are judged on the whole text of
    # any answer but a code task's or a fenced one
    hit = pd.Series([repetitive(x, cfg, None if code else p.lower(),
                                lines=shape != "code" and "```" not in x)
                     for x, p, code, shape in zip(t.response_lc, t.response_prose,
                                                  t.response_has_code, t.shape, strict=True)],
                    index=ctx.frame.index, dtype=bool)
    return Verdicts.where(hit, DropReason.REPETITION)


CHECK = Check(
    name="repetition", stage="heuristics", order=2000, config=RepetitionConfig,
    reasons=(DropReason.REPETITION,), inputs=("response",),
    section="repetition", level="pair", run=_repetition,
)
