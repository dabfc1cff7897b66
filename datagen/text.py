"""Text normalisation shared by dedup, filters and the split check.

Dedup compares normalised text (NFKC, casefold, punctuation stripped, whitespace collapsed),
so "The NDA's term?" and "the  nda s term" are one text. Most generated text is ASCII: it takes
a bytes-translate fast path (measured ~8x faster than the two regexes) with the same result.
"""

from __future__ import annotations

import re
import string
import unicodedata

import pandas as pd

from datagen.regex import Column, Pattern

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")
# ASCII punctuation -> space: the same characters `[^\w\s]` matches in ASCII ("_" is a word
# char), as a bytes table (~5x faster than a str.translate dict)
_PUNCT_BYTES = "".join(c for c in string.punctuation if c != "_").encode()
_ASCII_PUNCT = bytes.maketrans(_PUNCT_BYTES, b" " * len(_PUNCT_BYTES))


def normalize(text: str | None) -> str:
    """NFKC, casefold, punctuation stripped, whitespace collapsed."""
    if not isinstance(text, str):
        return ""
    if text.isascii():
        return " ".join(text.encode().lower().translate(_ASCII_PUNCT).decode().split())
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def token_sort(text: str | None) -> str:
    """Normalised words in sorted order: compare once-sorted strings with `fuzz.ratio`
    instead of `token_sort_ratio` per pair (measured 21x faster inside cdist)."""
    return " ".join(sorted(normalize(text).split()))


# Chinese, Japanese and Korean write no spaces between words: two such characters count as a
# word (a Chinese word is one or two characters), so length rules work across languages.
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK = re.compile(f"[{CJK_CHARS}]")
_NON_CJK_WORDS = re.compile(rf"[^\s{CJK_CHARS}]+")


def word_count(text: str | None) -> int:
    """Words: runs of non-space, non-CJK characters, plus half the CJK characters."""
    if not isinstance(text, str):
        return 0
    if text.isascii():
        return len(text.split())
    cjk = len(CJK.findall(text))
    return len(_NON_CJK_WORDS.findall(text)) + (cjk + 1) // 2


def word_counts(texts: pd.Series) -> pd.Series:
    """`word_count` of every text of a string Series."""
    return pd.Series([word_count(t) for t in texts], index=texts.index, dtype=int)


def word_ngrams(words: list[str], n: int) -> set[str]:
    """The set of word n-grams of a word list (the whole list when it is shorter than n)."""
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE = re.compile(r"`[^`\n]+`")
_CODE_LINE = Pattern(
    r"^\s*(?:def |class |import |from \S+ import |return\b|for .+:|while .+:|if .+:|elif |else:|"
    r"try:|except|#include|public |private |static |function |const |let |var |func |fn |"
    r"SELECT |INSERT |UPDATE |DELETE |CREATE |<\w+[ >/]|[{}\]);]+$|[\w.]+\s*=\s*\S|"
    r"[\w.]+\(.*\)\s*;?(?:\s*//.*)?$|"
    r"//|#!|\$ )", re.IGNORECASE, lines=True)
_INPUT = re.compile(r"\n\s*\n\s*input\s*:", re.IGNORECASE)


def task_part(instruction: str) -> str:
    """The task of an instruction, without the input it carries ("...\\n\\nInput: ...")."""
    m = _INPUT.search(instruction or "")
    return (instruction or "")[:m.start()] if m else (instruction or "")


def prose(text: str) -> str:
    """Text with fenced code, inline code and lines that read as code removed."""
    text = _INLINE.sub(" ", _FENCE.sub(" ", text or ""))
    return "\n".join(line for line in text.splitlines() if not _CODE_LINE.search(line))


_SQL = Pattern(r"^\s*(?:FROM|WHERE|GROUP BY|ORDER BY|JOIN|LEFT JOIN|LIMIT|HAVING|VALUES|SET|"
                  r"AND|OR)\b")
_NO_SYMBOLS = str.maketrans("", "", "{}[]();=<>$^*\\|&%#:'\"")  # deletes code symbols


def code_line(line: str) -> bool:
    """A line that reads as code: a statement form, SQL, or dense with code symbols."""
    stripped = line.strip()
    if len(stripped) < 2:
        return False
    if _CODE_LINE.search(line) or _SQL.search(line):
        return True
    return _dense(stripped)


def _dense(stripped: str) -> bool:
    symbols = len(stripped) - len(stripped.translate(_NO_SYMBOLS))
    return len(stripped) >= 4 and symbols / len(stripped) >= 0.12 and symbols >= 3


def looks_like_code(text: str) -> bool:
    """A fenced block; or one code line in a text of one or two lines; or two, and a quarter
    of all lines, in a longer one."""
    if "```" in (text or ""):
        return True
    lines = [line for line in (text or "").splitlines() if line.strip()]
    hits = sum(code_line(line) for line in lines)
    if len(lines) <= 2:
        return hits >= 1
    return hits >= 2 and hits / len(lines) >= 0.25


def code_views(texts: list[str]) -> tuple[list[bool], list[str]]:
    """`looks_like_code` and `prose` of every text, with the line patterns searched over all
    lines at once (`datagen.regex`): the same answers, ~5x faster than text by text."""
    owner, lines = [], []
    for k, text in enumerate(texts):
        split = text.splitlines()
        owner.extend([k] * len(split))
        lines.extend(split)
    column = Column(lines)
    statement = _CODE_LINE.mask(column)
    code = statement | _SQL.mask(column)
    per_text: list[list[int]] = [[] for _ in texts]
    for i, k in enumerate(owner):
        per_text[k].append(i)
    has_code, prose_of = [], []
    for k, text in enumerate(texts):
        mine = per_text[k]
        if "`" in text:  # fences and inline code: the text's own path
            prose_of.append(prose(text))
        else:
            prose_of.append("\n".join(lines[i] for i in mine if not statement[i]))
        if "```" in text:
            has_code.append(True)
            continue
        full = [i for i in mine if lines[i].strip()]
        hits = sum(1 for i in full if len(lines[i].strip()) >= 2
                   and (code[i] or _dense(lines[i].strip())))
        has_code.append(hits >= 1 if len(full) <= 2 else hits >= 2 and hits / len(full) >= 0.25)
    return has_code, prose_of
