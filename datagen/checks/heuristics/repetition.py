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
items of up to four words (lines, or the items of one comma/semicolon list) of which more
than `max_duplicate_item_share` repeat an earlier one ("innovative, disruptive, innovative,
..."), or whose lines repeat one pattern: the same line but for its numbers (a list of
made-up links "https://stackoverflow.com/questions/2374321/remove-item-in-array",
".../40616132/..."). A line needs `PATTERN_LETTERS` letters outside its numbers to count: the
rows of a multiplication table ("7 x 3 = 21") share a pattern by nature.

Good answers repeat by design too, and strong models' published answers showed where (of
5,845, 97 were dropped here, most of them wrongly): a song's chorus and a poem's refrain (a
line said up to `REFRAIN_TIMES` times is read once when the task asks for lyrics), a script's
speakers in capitals, an outline's sub-items under each heading, a record's fields ("Subject:
Orkney Islands"), the country every line of a list of places ends on, the same program shown
for two versions of a framework. So the list and pattern rules skip structure
(`_structural`, indented lines), the n-gram rules read the text around fenced code, and a
code block is held to its own bar (`CODE_LOOP_SHARE`). A loop in any text shows as its lines
going round one block three times and more (`cycles`): "fwrite(&i, sizeof(i), 1, fp);" forty
times, or four paragraphs said again and again until the token limit.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section
from datagen.shape import LYRICS
from datagen.text import CJK, fenced


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


def duplicate_item_share(text: str, min_items: int) -> tuple[int, float]:
    """Of the lists of `min_items` short items or more, the one whose items repeat most: its
    length, and the share of its items that repeat an earlier one. A list is the lines of
    the text (but for its structure: `_structural`), or the items of one line that is a
    comma list. An item of one line said again on another is no repeat: "Pittsburgh, PA,
    USA" and "Boston, MA, USA" share a country."""
    lists, lines = [], []
    for line in _top_level(text):
        if _structural(line):
            continue
        line = line.rsplit(":", 1)[-1]  # "Here are some adjectives: a, b, c" -> "a, b, c"
        parts = _short([_MARKER.sub("", x) for x in _ITEMS.split(line)])
        if len(parts) > 1:
            lists.append(parts)
        else:
            lines += parts
    shares = [_share(items) for items in (*lists, lines) if len(items) >= min_items]
    return max(shares, key=lambda found: found[1], default=(0, 0.0))


def _top_level(text: str) -> list[str]:
    """The lines of a text that are not indented under another: an outline repeats "Current
    state" under each of its headings."""
    return [line for line in text.splitlines() if not line[:1].isspace()]


# a heading or a label that ends on a colon ("**Without adjectives:**" before each example),
# and a record's field ("Subject: Orkney Islands", "Genre: Techno")
_HEADER = re.compile(r":[\s*_#]*$")
_FIELD = re.compile(r"^\W*(?:\d{1,3}[.)]\s*)?[^\W\d_]+(?: [^\W\d_]+){0,2}\W*: ")


def _structural(line: str) -> bool:
    """A line that repeats by design: a heading, a field, or a speaker's name in capitals (a
    script repeats "JULIA" before each line)."""
    bare = _MARKER.sub("", line).strip(" *_#")
    return bool(_HEADER.search(line) or _FIELD.match(line)) \
        or (bare.isupper() and len(bare.split()) <= 3)


def _short(items: list[str]) -> list[str]:
    items = [x.strip(" .") for x in items]
    return [x for x in items if _WORDLIKE.match(x) and len(x.split()) <= ITEM_WORDS]


def _share(items: list[str]) -> tuple[int, float]:
    return len(items), 1 - len({x.lower() for x in items}) / len(items)


def pattern_line_share(text: str) -> tuple[int, float]:
    """Lines (list markers removed), and the share of them that repeat an earlier line's
    pattern: the line with its numbers masked. Structure repeats by design: sub-items
    (indented lines) and `_structural` lines."""
    lines = [_DIGITS.sub("0", _MARKER.sub("", x).strip().lower()) for x in _top_level(text)
             if not _structural(x)]
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
        _, dup_items = duplicate_item_share(prose, cfg.min_list_items)
        if dup_items > cfg.max_duplicate_item_share:
            return True
    if lines and text.count("\n") + 1 >= cfg.min_list_items:
        n_lines, dup_lines = pattern_line_share(text)
        if n_lines >= cfg.min_list_items and dup_lines > cfg.max_duplicate_item_share:
            return True
    repeated_8grams, top_2gram = ngram_shares(
        text, cfg, floor=min(cfg.max_top_2gram_share, cfg.max_repeated_8gram_share))
    return top_2gram > cfg.max_top_2gram_share or repeated_8grams > cfg.max_repeated_8gram_share


def ngram_shares(text: str, cfg: RepetitionConfig, floor: float = 0.0) -> tuple[float, float]:
    """A text's share of characters inside repeated word 8-grams, and in its most frequent
    2-gram; both 0 for a text under `min_words`, or when no more than `floor` of it is in
    repeated words (every word of a repeated n-gram is itself repeated: a cheap bound)."""
    words, per_word = units(text.lower())
    if len(words) < cfg.min_words * per_word:
        return 0.0, 0.0
    total = sum(map(len, words))
    counts = Counter(words)
    if floor and sum(len(w) * c for w, c in counts.items() if c > 1) / total <= floor:
        return 0.0, 0.0
    return (duplicate_ngram_fraction(words, 8 * per_word, total),
            top_ngram_fraction(words, 2 * per_word, total))


MAX_PERIOD = 12  # lines in the block a loop repeats


def cycles(text: str, min_lines: int) -> bool:
    """Whether the text's lines go round one block of up to `MAX_PERIOD` lines at least
    three times in a row, over `min_lines` lines or more: a loop in code ("fwrite(&i,
    sizeof(i), 1, fp);" forty times) as much as in prose. A line needs `PATTERN_LETTERS`
    letters to count. A chorus sung twice in a row is two rounds, not three. Numbers count:
    structured data repeats its frame with new numbers ("Period: 2011-2013", "Tizio: 3%")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # a cycle's later rounds repeat lines: fewer repeats than the shortest cycle's, no cycle
    fewest = min(max(2 * period, min_lines - period) for period in range(1, MAX_PERIOD + 1))
    if len(lines) < min_lines or len(set(lines)) > len(lines) - fewest:
        return False
    worded = [len(_LETTER.findall(line)) >= PATTERN_LETTERS for line in lines]
    for period in range(1, MAX_PERIOD + 1):
        run = 0
        for i in range(period, len(lines)):
            run = run + 1 if worded[i] and lines[i] == lines[i - period] else 0
            if run >= 2 * period and run + period >= min_lines:
                return True
    return False


REFRAIN_TIMES = 4  # a chorus comes back a few times; a loop, until the token limit


def without_refrains(text: str) -> str:
    """A song or poem's text with each line said again up to `REFRAIN_TIMES` times kept
    once: a chorus is no loop."""
    lines = text.splitlines()
    counts = Counter(line.strip().lower() for line in lines)
    seen: set[str] = set()
    out = []
    for line in lines:
        key = line.strip().lower()
        if key and 1 < counts[key] <= REFRAIN_TIMES and key in seen:
            continue
        seen.add(key)
        out.append(line)
    return "\n".join(out)


CODE_LOOP_SHARE = 0.75  # of a code block's characters in repeated 8-grams or its top 2-gram


def looping(text: str, prose: str, code: bool, shape: str, refrain: bool,
            cfg: RepetitionConfig) -> bool:
    """Whether a response loops: its lines cycle, a fenced code block is mostly repeated
    n-grams (`CODE_LOOP_SHARE`), or the rules above hold on the text around its fenced
    code. A code block is held to its own, higher bar: an answer asked for two versions of a
    program shows much of it twice, and markup repeats its attributes by nature."""
    if cycles(text, cfg.min_list_items):
        return True
    read, blocks = fenced(text) if "```" in text else (text, [])
    if any(max(ngram_shares(block, cfg)) > CODE_LOOP_SHARE for block in blocks):
        return True
    if refrain:
        read, prose = without_refrains(read), without_refrains(prose)
    return repetitive(read, cfg, None if code else prose, lines=shape != "code" and not blocks)


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
    refrain = LYRICS.mask(t.task.str.lower().tolist())
    hit = pd.Series([looping(x, p, code, shape, asks, cfg)
                     for x, p, code, shape, asks in zip(t.response, t.response_prose,
                                                        t.response_has_code, t.shape, refrain,
                                                        strict=True)],
                    index=ctx.frame.index, dtype=bool)
    return Verdicts.where(hit, DropReason.REPETITION)


CHECK = Check(
    name="repetition", stage="heuristics", order=2000, config=RepetitionConfig,
    reasons=(DropReason.REPETITION,), inputs=("instruction", "response", "metadata"),
    section="repetition", level="pair", run=_repetition,
)
