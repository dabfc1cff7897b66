"""Text normalisation shared by dedup, filters and the split check.

Dedup compares normalised text (NFKC, casefold, punctuation stripped, whitespace collapsed),
so "The NDA's term?" and "the  nda s term" are one text. Most generated text is ASCII: it takes
a `str.translate` fast path (measured ~4x faster than the two regexes) with the same result.
"""

from __future__ import annotations

import re
import string
import unicodedata

import pandas as pd

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")
# ASCII punctuation -> space: the same characters `[^\w\s]` matches in ASCII ("_" is a word char)
_ASCII_PUNCT = str.maketrans({c: " " for c in string.punctuation if c != "_"})


def normalize(text: str | None) -> str:
    """NFKC, casefold, punctuation stripped, whitespace collapsed."""
    if not isinstance(text, str):
        return ""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_PUNCT).split())
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def token_sort(text: str | None) -> str:
    """Normalised words in sorted order: compare once-sorted strings with `fuzz.ratio`
    instead of `token_sort_ratio` per pair (measured 21x faster inside cdist)."""
    return " ".join(sorted(normalize(text).split()))


# Chinese, Japanese and Korean write no spaces between words: each such character counts as a
# word (a Chinese word is one or two characters), so length rules work across languages.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORDS = re.compile(rf"[^\s{_CJK}]+|[{_CJK}]")


def word_count(text: str | None) -> int:
    """Words: runs of non-space characters, and each CJK character on its own."""
    if not isinstance(text, str):
        return 0
    return len(text.split()) if text.isascii() else len(_WORDS.findall(text))


def word_counts(texts: pd.Series) -> pd.Series:
    """`word_count` of every text of a string Series."""
    return pd.Series([word_count(t) for t in texts], index=texts.index, dtype=int)


def word_ngrams(words: list[str], n: int) -> set[str]:
    """The set of word n-grams of a word list (the whole list when it is shorter than n)."""
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}
