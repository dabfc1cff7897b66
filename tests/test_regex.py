"""Column regex search (`datagen.regex`): Python's answers on every row, from RE2 on the
plain rows, for every column pattern the checks and `datagen.text` use, on the dev set's real
texts; and the column helpers built on it against their text-by-text references."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

import datagen.checks
import datagen.curate
import datagen.shape
import datagen.text
from datagen.regex import Column, Pattern
from datagen.text import code_views, counts_of, looks_like_code, prose, split_counts, word_count

DEVSET = Path(__file__).resolve().parents[1] / "bench" / "data" / "devset.jsonl"
# rows RE2 must not answer (Python counts \x0b and \x1c-\x1f as space), and non-ASCII text
ODD = ["Write a story\x0bin two lines", "user\x1c: hi", "Explain\x1fwhy", "Übersetze: hello",
       "Rédigez une clause", "The ﬁle below", "[SPLIT] ok", "\ufffd\ufffd", "", "\n\nUser: x",
       "Classify this\n\nInput: x", "write a PYTHON script", "ΑΒΓ συνάρτηση python"]


def patterns() -> list[tuple[str, Pattern]]:
    modules = [importlib.import_module(info.name) for package in (datagen.checks, datagen.curate)
               for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
               ] + [datagen.shape, datagen.text]
    found = []
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, Pattern):
                found.append((f"{module.__name__.rsplit('.', 1)[-1]}.{name}", value))
    from datagen.checks.heuristics.keywords import _pattern
    found.append(("keywords._pattern", _pattern(("image", "file", "graph", "map", "video"))))
    return found


def texts() -> list[str]:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    out = [r[k] for r in rows for k in ("instruction", "response")]
    return out + [t.lower() for t in out] + ODD


def test_the_checks_use_column_patterns() -> None:
    names = {name for name, _ in patterns()}
    assert {"shape._LONG", "keywords._WEB", "leak._TOKENS", "debris._META",
            "language._ASKS_LANGUAGE", "garbled._ARTEFACT"} <= names


@pytest.mark.parametrize(("name", "pattern"), patterns(), ids=lambda x: x if isinstance(x, str)
                         else "")
def test_column_search_gives_pythons_answer_on_every_row(name: str, pattern: Pattern) -> None:
    sample = texts()
    if pattern.lines:  # searched line by line
        sample = [line for t in sample for line in t.splitlines()]
    column = Column(sample)
    expected = [pattern.python.search(t) is not None for t in sample]
    assert column.plain.sum() > len(sample) / 2  # most rows went through RE2
    assert pattern.mask(column).tolist() == expected


def test_column_sub_gives_pythons_text() -> None:
    pattern = Pattern(r"\b(?:tax|civil) codes?\b|\bcodes? of\b")
    sample = texts()
    assert Pattern(r"x").sub(" ", Column([])).texts == []
    assert pattern.sub(" ", Column(sample)).texts == [pattern.python.sub(" ", t) for t in sample]


@pytest.mark.parametrize("source", [r"a(?=b)", r"a(?!b)", r"(?<=a)b", r"(?<!a)b", r"(a)\1",
                                    r"end$", r"end\Z", r"(?P<x>a)(?P=x)"])
def test_patterns_outside_the_shared_dialect_are_refused(source: str) -> None:
    with pytest.raises(ValueError, match="dialect"):
        Pattern(source)


def test_flags_and_escapes_carry_over() -> None:
    assert Pattern(r"ab", re.IGNORECASE).mask(["xAbx", "ab", "a b"]).tolist() == [True, True,
                                                                                 False]
    assert Pattern(r"^b", re.MULTILINE).mask(["a\nb", "ab"]).tolist() == [True, False]
    assert Pattern(r"a.b", re.DOTALL).mask(["a\nb"]).tolist() == [True]
    assert Pattern(r"\$\d").mask(["costs $5", "5$"]).tolist() == [True, False]
    assert Pattern(r"[\u2022]").mask(["\u2022 item", "- item"]).tolist() == [True, False]
    with pytest.raises(ValueError, match="dialect"):
        Pattern(r"a", re.VERBOSE)


def test_code_views_give_the_text_by_text_answers() -> None:
    sample = texts() + ["```python\nx = 1\n```", "Use `x = 1` here.\nfor i in y:\n  go()",
                        "SELECT *\nFROM t\nWHERE a = 1;", "}", "a\r\nb = c\r\n", "x\x0by = 2",
                        "one\n\n\ntwo", "if (a) {\n  b();\n}\ndone"]
    has_code, prose_of = code_views(sample)
    assert has_code == [looks_like_code(t) for t in sample]
    assert prose_of == [prose(t) for t in sample]
    assert 0 < sum(has_code) < len(sample)


def test_word_counts_on_bytes_give_the_text_by_text_answers() -> None:
    sample = texts() + ["", " ", "  two  words ", "tab\tand\nnewline\r\n", "a\x1cb\x1dc\x1ed\x1ff",
                        "x\x0by\x0cz", "\u3000full\u3000width", "no\xa0break", "中文 和 English",
                        "日本語のテキスト", "one"]
    assert split_counts(sample).tolist() == [len(t.split()) for t in sample]
    assert counts_of(sample, word_count).tolist() == [word_count(t) for t in sample]
    # a missing text has no words; a slice of texts counts as the whole list does
    assert counts_of(["a b", None, "c"], word_count).tolist() == [2, 0, 1]  # type: ignore[list-item]
    assert split_counts(sample[5:40]).tolist() == split_counts(sample)[5:40].tolist()
