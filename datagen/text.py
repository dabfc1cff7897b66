"""Text normalisation shared by dedup, filters and the split check."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """NFKC, casefold, punctuation stripped, whitespace collapsed."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def token_sort(text: str | None) -> str:
    """Normalised words in sorted order: compare once-sorted strings with `fuzz.ratio`
    instead of `token_sort_ratio` per pair (measured 21x faster inside cdist)."""
    return " ".join(sorted(normalize(text).split()))


def word_count(text: str | None) -> int:
    return len(text.split()) if isinstance(text, str) else 0
