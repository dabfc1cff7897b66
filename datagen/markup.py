"""Untrusted text into the pages and files people open: HTML, JSON inside HTML, Markdown.

Instructions, answers, seed fields and reviewers' notes are untrusted wherever they land. A
`<!--`, `</script>` or `<img onerror=...>` in an answer must show as written in `report.html`,
`report.md`, the dataset card (`hf/README.md`, rendered by the Hub and by any Markdown viewer),
the eval table and the Prefect artifacts; it must never become markup. Every writer goes
through one helper per concern, here:

    html_text    text inside an HTML element or a quoted attribute
    script_json  a value as JSON inside `<script type="application/json">` (or a script file):
                 still valid JSON, with `<`, `>`, `&`, U+2028 and U+2029 as `\\u` escapes
    md_text      inline Markdown text: every character that could open HTML, a link, an image,
                 emphasis, code or a table cell is backslash-escaped; line breaks become spaces
    md_code      inline Markdown code, fenced with more backticks than the text holds
    md_block     a fenced Markdown block, fenced with more backticks than the text holds
    md_table     a Markdown table whose cells are escaped unless they are `Markdown`
    Markdown     a str datagen wrote as Markdown itself (`md_bold`, `md_text`): trusted as is
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

# JSON text has `<`, `>` and `&` only inside strings, where `\u003c` means the same character:
# the text stays JSON, and the HTML parser never sees `</script>` or `<!--` in it. (Chained
# `str.replace`: `str.translate` measured 14x slower on non-ASCII text, 3.4 s for 17 MB.)
_SCRIPT_UNSAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                  ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def html_text(value: Any) -> str:
    """`value` as text inside an HTML element or a quoted attribute value."""
    return html.escape(str(value), quote=True)


def _finite(value: Any) -> Any:
    """NaN and infinities (which JSON cannot hold) as null, in nested dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """`value` as JSON that `JSON.parse` reads back from a `<script type="application/json">`
    element, and that a script file may hold as a JavaScript literal. A `<\\!--` rewrite is not
    JSON: one `<!--` in a record would stop the whole page."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str,
                          allow_nan=False)
    except ValueError:  # a NaN somewhere: only then walk the value (a page holds many)
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"),
                          default=str)
    for char, escaped in _SCRIPT_UNSAFE:
        text = text.replace(char, escaped)
    return text


class Markdown(str):
    """Markdown that datagen wrote itself (bold, escaped text): `md_table` keeps it as is."""


# Characters that open raw HTML or an entity (`<`, `&`), a link or image (`[`, `]`), code
# (backtick), emphasis (`*`, `~`, `_` at a word's edge), a table cell (`|`), and the escape
# itself. `_` inside a word (`near_duplicate`) opens nothing and stays readable. A line break
# could start a block (a heading, a list, raw HTML), so inline text has none.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>&|~]|(?<![^\W_])_|_(?![^\W_])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICKS = re.compile(r"`+")


def _one_line(value: Any) -> str:
    return _LINE_BREAK.sub(" ", str(value))


def md_text(value: Any) -> Markdown:
    """`value` as inline Markdown text that renders as written: in a paragraph, a heading, a
    list item or a table cell, after the line's own marker (`# `, `- `, `| `)."""
    return Markdown(_MD_SPECIAL.sub(lambda m: "\\" + m.group(), _one_line(value)))


def md_bold(value: Any) -> Markdown:
    """`value` as bold inline Markdown text."""
    return Markdown(f"**{md_text(value)}**")


def _fence(text: str, least: int) -> str:
    return "`" * max(least, 1 + max((len(r) for r in _BACKTICKS.findall(text)), default=0))


def md_code(value: Any) -> str:
    """`value` as an inline code span: no run of backticks inside can close it, and nothing
    inside is read as Markdown or HTML. Not for table cells (a `|` there splits the cell):
    `md_table` escapes it as text."""
    text = _one_line(value)
    if not text:
        return "` `"
    fence = _fence(text, 1)
    # one space each side is stripped when both ends hold one (unless all are spaces): pad
    # then, and where the text starts or ends with a backtick, which would join the fence
    edge = text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip())
    pad = " " if edge else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(text: str, info: str = "") -> str:
    """`text` as a fenced code block at the top level of a document: its fence is longer than
    any run of backticks in it, so no line of it can close the block early."""
    if "`" in info or "\n" in info:
        raise ValueError(f"a fence's info string holds no backticks or line breaks: {info!r}")
    body = _LINE_BREAK.sub("\n", text)
    fence = _fence(body, 3)
    return f"{fence}{info}\n{body}\n{fence}"


def md_cell(value: Any) -> Markdown:
    """A table cell: `Markdown` as it is, anything else as escaped text."""
    return value if isinstance(value, Markdown) else md_text(value)


def md_table(header: list[Any], rows: list[list[Any]]) -> str:
    """A Markdown (GFM) table; every cell and header that is not `Markdown` is escaped text."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
