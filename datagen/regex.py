"""Regex search over a whole column of texts: pyarrow's RE2 on the plain rows, Python's `re`
on the rest, with Python's answers on every row.

A check that runs Python's `re` over every record pays ~5-8 us a text for a large alternation
(`\\b(?:explain|describe|...)\\b`): a backtracking engine tries every alternative at every
position. RE2 (`pyarrow.compute`) runs the same pattern as one automaton over the column,
~15x faster (measured on the bench corpus: 0.4-0.5 us a text). The two engines mean the same
by `\\w`, `\\d`, `\\s`, `\\b`, case folding and `.` on text that is ASCII and free of the
control characters Python counts as space and RE2 does not (\\x0b, \\x1c-\\x1f): the plain
rows. Every other row goes through Python's `re`. `tests/test_regex.py` checks every
column pattern of the checks against Python's own search on the dev set's texts.

A `Pattern` is written in the dialect both share, which is checked when it is made: no
lookaround, no backreference, no `$` (Python's also matches before a final newline; a pattern
made with `lines=True`, for texts that hold no newline, may use it) or `\\Z`, and no flags but
IGNORECASE, DOTALL and MULTILINE.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_UNSHARED = re.compile(r"\(\?[=!<]|\(\?P[=<]|\\[1-9]|\\Z")
_DOLLAR = re.compile(r"(?<!\\)\$")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_FLAGS = ((re.IGNORECASE, "i"), (re.DOTALL, "s"), (re.MULTILINE, "m"))
_NOT_PLAIN = r"[\x0b\x1c-\x1f]"


class Column:
    """Texts, with their pyarrow array and plain-row mask made once for every pattern."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts if isinstance(texts, list) else list(texts)

    def __len__(self) -> int:
        return len(self.texts)

    @functools.cached_property
    def arrow(self) -> pa.Array:
        return pa.array(self.texts, type=pa.string())

    @functools.cached_property
    def plain(self) -> np.ndarray:
        """Rows RE2 answers as Python's `re` does."""
        if not self.texts:
            return np.zeros(0, dtype=bool)
        ascii_ = pc.string_is_ascii(self.arrow)
        odd = pc.match_substring_regex(self.arrow, _NOT_PLAIN)
        return np.asarray(pc.and_(ascii_, pc.invert(odd)), dtype=bool)


class Pattern:
    """A compiled regex that searches one text (Python's `re`) or a whole `Column`."""

    def __init__(self, source: str, flags: int = 0, *, lines: bool = False) -> None:
        self.python = re.compile(source, flags)
        self.lines = lines
        bad = _UNSHARED.search(source) or (None if lines else _DOLLAR.search(source))
        extra = flags & ~(re.IGNORECASE | re.DOTALL | re.MULTILINE | re.UNICODE)
        if bad or extra:
            raise ValueError(f"not in the dialect RE2 and Python share: {source!r} "
                             f"({bad.group() if bad else 'flags'})")
        inline = "".join(letter for flag, letter in _FLAGS if flags & flag)
        source = _UNICODE_ESCAPE.sub(r"\\x{\1}", source)
        self.re2 = f"(?{inline}){source}" if inline else source

    @property
    def pattern(self) -> str:
        return self.python.pattern

    def search(self, text: str) -> bool:
        return self.python.search(text) is not None

    def mask(self, column: Column | Sequence[str]) -> np.ndarray:
        """Per text: does the pattern occur in it (Python's answer)."""
        column = column if isinstance(column, Column) else Column(column)
        if not len(column):
            return np.zeros(0, dtype=bool)
        found = np.asarray(pc.match_substring_regex(column.arrow, self.re2), dtype=bool)
        for i in np.flatnonzero(~column.plain).tolist():
            found[i] = self.python.search(column.texts[i]) is not None
        return found

    def sub(self, replacement: str, column: Column) -> Column:
        """Every match replaced by a literal `replacement` (no group references)."""
        if not len(column):
            return column
        replaced = pc.replace_substring_regex(column.arrow, self.re2, replacement.replace(
            "\\", "\\\\")).to_pylist()
        for i in np.flatnonzero(~column.plain).tolist():
            replaced[i] = self.python.sub(lambda _: replacement, column.texts[i])
        return Column(replaced)
