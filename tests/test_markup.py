"""The helpers that put untrusted text into pages and files (`datagen.markup`), checked the way
people see their output: JSON read back by a JSON parser, Markdown rendered by a CommonMark
renderer (markdown-it, raw HTML allowed as on the Hub), and each writer that uses them (the eval
table, the Prefect artifacts) fed the same hostile text."""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from datagen.config import LinksConfig
from datagen.evaluate.table import BEGIN, END, markdown, write_report_section
from datagen.markup import (
    Markdown,
    html_text,
    md_block,
    md_bold,
    md_code,
    md_table,
    md_text,
    script_json,
)
from flows.artifacts import funnel_markdown, url_of, where

HOSTILE = [
    "<!-- open comment", "</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "a|<b>x</b>", "a\\|<script>x</script>", "`<img src=x onerror=1>`", "``` <script>",
    "&lt;script&gt;", "[x](javascript:alert(1))", "![x](javascript:alert(1))",
    "<http://evil.example>", "line one\n<script>two</script>\r\n# three", "trailing \\",
    "near_duplicate _x_ *y* ~z~ **w**", "<!-- datagen eval -->", "\u2028<\u2029>",
    "  <svg onload=alert(1)>  ", "",
]
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _tags(rendered: str) -> set[str]:
    return set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)\b", rendered))


class _Text(HTMLParser):
    """The text a browser shows, per table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "td":
            self._in, self.cells = True, [*self.cells, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.cells[-1] += data


def _one_line(text: str) -> str:
    return re.sub(r"\r\n|\r|\n", " ", text)


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_is_json_with_no_markup_characters(text: str) -> None:
    value = {"instruction": text, "nested": [text, {"k": text}], "n": 1.5}
    dumped = script_json(value)
    assert json.loads(dumped) == value
    assert not set(dumped) & {"<", ">", "&", "\u2028", "\u2029"}
    assert "</script" not in dumped.lower() and "<!--" not in dumped


def test_script_json_writes_nan_as_null() -> None:
    assert json.loads(script_json({"judge": math.nan, "x": [math.inf, 1.0]})) == {
        "judge": None, "x": [None, 1.0]}


def test_html_text_escapes_elements_and_attributes() -> None:
    text = "<img src=x onerror='alert(1)'> \"&"
    assert html_text(text) == "&lt;img src=x onerror=&#x27;alert(1)&#x27;&gt; &quot;&amp;"
    assert html.unescape(html_text(text)) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_renders_as_written_and_adds_no_html(text: str) -> None:
    for doc in (f"# {md_text(text)}", f"- user: {md_text(text)}", f"x {md_text(text)} y",
                f"{md_bold(text)} after"):
        rendered = MD.render(doc)
        assert _tags(rendered) <= {"h1", "ul", "li", "p", "strong"}, (doc, rendered)
    shown = html.unescape(re.sub(r"<[^>]+>", "", MD.render(f"x {md_text(text)} y"))).strip()
    assert shown == f"x {_one_line(text)} y".strip() or not text.strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_md_table_cells_hold_the_text_and_nothing_else(text: str) -> None:
    rendered = MD.render(md_table(["col", "next"], [[text, "ok"], [md_bold("kept"), 3]]))
    assert _tags(rendered) <= {"table", "thead", "tbody", "tr", "th", "td", "strong"}, rendered
    cells = _Text()
    cells.feed(rendered)
    assert cells.cells == [_one_line(text).strip(), "ok", "kept", "3"]  # two columns, always


@pytest.mark.parametrize("text", HOSTILE)
def test_md_code_is_one_code_span_of_the_text(text: str) -> None:
    rendered = MD.render(f"model: {md_code(text)} end")
    assert _tags(rendered) <= {"p", "code"}, rendered
    if text:
        code = re.fullmatch(r"<p>model: <code>(.*)</code> end</p>\n", rendered, re.S)
        assert code and html.unescape(code.group(1)) == _one_line(text), rendered


@pytest.mark.parametrize("text", HOSTILE)
def test_md_block_is_one_code_block_of_the_text(text: str) -> None:
    body = f"{text}\n```\n~~~\n</pre><script>alert(1)</script>"
    rendered = MD.render(f"## Load it\n{md_block(body, 'python')}\nafter <- text")
    assert _tags(rendered) <= {"h2", "pre", "code", "p"}, rendered
    code = re.search(r'<pre><code class="language-python">(.*)</code></pre>', rendered, re.S)
    assert code and html.unescape(code.group(1)) == re.sub(r"\r\n|\r", "\n", body) + "\n"


def test_markdown_passes_as_is_and_text_does_not() -> None:
    assert isinstance(md_text("a"), Markdown) and isinstance(md_bold("a"), Markdown)
    assert md_table(["h"], [["**b**"], [md_bold("b")]]).splitlines()[2:] == [
        "| \\*\\*b\\*\\* |", "| **b** |"]
    with pytest.raises(ValueError):
        md_block("x", "py`")


def _summary(name: str) -> dict[str, object]:
    candidate = {"candidate": "a", "name": name, "approach": name, "model": name,
                 "examples_needed": 0, "training": {}, "rouge_l": 0.5,
                 "rouge_l_ci95": [0.4, 0.6], "answer_words": 12.0, "prompt_tokens": 10,
                 "completion_tokens": 5, "latency_s": 0.1, "cost_usd": 0.0}
    return {"instructions": 3, "generation_id": "00001", "params": {"max_tokens": 64},
            "metric": "ROUGE-L F1", "candidates": [candidate],
            "judge": {"model": name, "pairs": {}}}


@pytest.mark.parametrize("text", HOSTILE[:8])
def test_the_eval_table_and_its_report_section_hold_no_html(text: str, tmp_path: Path) -> None:
    section = markdown(_summary(text))
    assert _tags(MD.render(section)) <= {"h2", "p", "code", "table", "thead", "tbody", "tr",
                                         "th", "td"}
    report = tmp_path / "report.md"
    report.write_text("# Run\n")
    write_report_section(report, section)
    write_report_section(report, section)  # replaced, not added: no name reads as a marker
    body = report.read_text()
    assert body.count(BEGIN) == body.count(END) == 1


def test_prefect_artifacts_hold_no_html(tmp_path: Path) -> None:
    text = HOSTILE[1] + HOSTILE[2]
    manifest = {"run_id": "r1", "counts": {"generated": 2, "kept": 1, "by_reason": {text: 1}},
                "split": {"ratios": {text: {"train": 1}}, "shares": {
                    "misses": [{"seed": text, "split": "train", "asked_share": 0.5,
                                "realised_share": 0.1, "largest_groups": [
                                    {"size": 3, "share": 0.9, "split": "train",
                                     "example": text}]}],
                    "tolerance": 0.1, "warning": text}}}
    rendered = MD.render(funnel_markdown(manifest))
    assert _tags(rendered) <= {"h1", "h2", "p", "strong", "table", "thead", "tbody", "tr",
                               "th", "td"}, rendered
    folder = tmp_path / "a `b` <img src=x onerror=1> (c)"
    links = LinksConfig(root=str(tmp_path), url="https://files.example.com/dg")
    line = MD.render(where("run folder", folder, links))
    assert _tags(line) <= {"p", "code", "a"}
    href = re.search(r'<a href="([^"]+)">open</a>', line)
    assert href and href.group(1) == url_of(folder, links) and " " not in href.group(1)
