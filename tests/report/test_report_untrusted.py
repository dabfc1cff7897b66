"""Hostile text in a real run: `<!--`, `</script>`, `<script>` and `<img onerror>` in the
model's answers and instructions, in the seed's fields and in a reviewer's note. The page loads,
every record opens and shows the text as written, and no script runs; report.md and the
dataset card, rendered by a CommonMark renderer (markdown-it), hold no raw HTML. Also
`report --serve` with a port it cannot use: one line naming the port and the fix.
Screenshots land in `test-artifacts/` (DATAGEN_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from tests.cli import cli as _cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler as world
from tests.report.conftest import Page
from tests.scripted_server import Reply, ScriptedServer

# each sets window.pwned if it ever runs; `<!--` used to stop the page's JSON parsing
HOSTILE = ('<!-- keep </script><script>window.pwned="script"</script> '
           '<img src=x onerror="window.pwned=\'img\'"> ``` `<b>` | -->')
NOTE = 'reviewer: <!-- </script><img src=x onerror="window.pwned=\'note\'">'


def cli(*args: object) -> tuple[int, str]:
    """`datagen ARGS` on a thread of its own (Playwright's sync API holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_cli, *args).result()


def hostile_world(body: dict[str, Any], n: int) -> Reply:
    """The scripted world, with the hostile text in every instruction and every answer."""
    reply = world(body, n)
    if "strict reviewer" in str(body["messages"][0].get("content")):
        return reply  # the judge's verdict stays JSON (the judge reads it, it is not shown)
    lines = (reply.content or "").split("\n")
    if re.match(r"1\. ", lines[0]):  # an expansion: a numbered list of instructions
        return Reply("\n".join(f"{line} {HOSTILE}" for line in lines))
    return Reply(f"{reply.content}\n{HOSTILE}")


@pytest.fixture(scope="module")
def run_dir(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("untrusted")
    seed = yaml.safe_load(NDA_SEED.read_text())
    seed.update(description=f"NDA clauses {HOSTILE}", system=f"You are a lawyer. {HOSTILE}",
                task=f"Ask for one NDA clause. {HOSTILE}", domain=f"legal {HOSTILE}")
    path = root / "hostile.yaml"
    path.write_text(yaml.safe_dump(seed))
    out = root / "run"
    with ScriptedServer(hostile_world) as server:
        code, text = cli("run", path, "--pairs", 12, "--out", out, "--base-url",
                         server.base_url, "--model", "test-model")
    assert code == 0, text
    return out


class _Scripts(HTMLParser):
    """The text of every `<script type="application/json">` element, as a browser splits it."""

    def __init__(self) -> None:
        super().__init__()
        self.json: dict[str, str] = {}
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("type") == "application/json":
            self._id = a.get("id") or ""
            self.json[self._id] = ""

    def handle_data(self, data: str) -> None:
        if self._id is not None:
            self.json[self._id] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._id = None


def test_every_json_element_of_the_page_is_json_holding_the_text(run_dir: Path) -> None:
    parser = _Scripts()
    parser.feed((run_dir / "report.html").read_text())
    assert {"index", "report-meta", "chunk-0"} <= set(parser.json)
    chunks = [json.loads(parser.json[k]) for k in sorted(parser.json) if k.startswith("chunk-")]
    json.loads(parser.json["index"])
    rows = [row for chunk in chunks for row in chunk]
    assert rows and all(HOSTILE in row[0] for row in rows)  # every instruction
    assert all(HOSTILE in row[1] for row in rows if row[1])  # every answer
    assert all(HOSTILE in row[2]["system"] for chunk in chunks for row in chunk)


def _rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer (raw HTML allowed, as on the Hub) makes of it."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_report_md_and_the_card_render_no_html_from_the_run(run_dir: Path) -> None:
    for path in (run_dir / "report.md", run_dir / "hf" / "README.md"):
        page = _rendered(path.read_text())
        tags = set(re.findall(r"<([a-z]+)\b", page))
        assert tags <= {"h1", "h2", "p", "ul", "li", "strong", "code", "pre", "table", "thead",
                        "tbody", "tr", "th", "td", "hr", "img", "em"}, (path, tags)
        assert not re.search(r"<img(?! src=\"(hf/)?plots/)", page), path  # only the plots
        assert "&lt;script&gt;window.pwned" in page, path  # the text is there, as text


def test_the_page_loads_opens_records_and_runs_no_script(run_dir: Path, page: Page,
                                                         tmp_path: Path) -> None:
    page.open(run_dir / "report.html")
    page.shot("report-untrusted.png")
    assert page.page.locator("#rows tr").count() > 0
    assert HOSTILE[:25] in page.page.inner_text("#rows tr:first-child td.snippet")
    page.page.locator("#rows tr").first.click()
    page.page.wait_for_selector("#detail:not([hidden]) #mark-keep")
    shown = page.page.locator("#detail-body pre.text").all_inner_texts()
    assert len(shown) == 2 and all(HOSTILE in t for t in shown)  # instruction and response
    assert HOSTILE in page.page.inner_text("#detail-body table.kv:last-of-type")  # system
    page.shot("report-untrusted-detail.png", full_page=False)
    assert page.page.evaluate("window.pwned") is None
    assert not page.errors, page.errors


def test_a_reviewer_note_comes_back_into_the_page_as_text(run_dir: Path, page: Page,
                                                          tmp_path: Path) -> None:
    page.open(run_dir / "report.html")
    page.page.locator("#rows tr.kept").first.click()
    page.page.wait_for_selector("#detail:not([hidden]) #mark-keep")
    rid = page.page.locator("#detail-body table.kv tr:has(th:text-is('id')) td").first \
        .inner_text()
    page.page.fill("#note", NOTE)
    page.page.click("#mark-drop")
    page.page.click("#close")
    with page.page.expect_download() as info:
        page.page.click("#download")
    verdicts = tmp_path / "verdicts.jsonl"
    info.value.save_as(verdicts)
    code, out = cli("curate", run_dir, "--verdicts", verdicts)
    assert code == 0, out
    records = pd.read_parquet(run_dir / "records.parquet").set_index("id")
    assert json.loads(records.loc[rid, "scores"])["human_note"] == NOTE

    page.open(run_dir / "report.html")  # the new generation's page, with the note inside
    page.page.fill("#q", rid)
    page.page.wait_for_function("() => document.getElementById('count').dataset.n === '1'")
    page.page.locator("#rows tr").first.click()
    page.page.wait_for_selector("#detail:not([hidden]) #mark-keep")
    assert NOTE in page.page.inner_text("#detail-body")
    assert page.page.evaluate("window.pwned") is None
    assert not page.errors, page.errors

    # report.md and the card, rendered and opened in the browser: nothing runs there either
    for path in (run_dir / "report.md", run_dir / "hf" / "README.md"):
        page.page.set_content(_rendered(path.read_text()))
        assert page.page.evaluate("window.pwned") is None, path


def test_texts_in_chunk_files_show_as_written(run_dir: Path, page: Page,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A run too big to inline keeps its texts in `report_files/*.js`: the same JSON, there a
    JavaScript literal."""
    from datagen.report import data

    monkeypatch.setattr(data, "INLINE_BYTES", 0)
    code, out = cli("report", run_dir)
    assert code == 0, out
    files = run_dir / "current" / "report_files"
    assert sorted(f.name for f in files.iterdir()) == ["chunk-00000.js"]
    page.open(run_dir / "report.html")
    page.page.locator("#rows tr").first.click()
    page.page.wait_for_selector("#detail:not([hidden]) #mark-keep")
    assert HOSTILE in page.page.inner_text("#detail-body pre.text")
    assert page.page.evaluate("window.pwned") is None
    assert not page.errors, page.errors


@pytest.mark.parametrize("port", [-5, 70000])
def test_serve_on_a_port_out_of_range_says_so(run_dir: Path, port: int) -> None:
    code, out = cli("report", run_dir, "--serve", "--port", port)
    assert code == 2, out
    assert f"--port {port} is not a TCP port (0 to 65535)" in out and "--port 0" in out
    assert "Traceback" not in out


def test_serve_on_a_busy_port_says_so(run_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = cli("report", run_dir, "--serve", "--port", port)
    assert code == 2, out
    assert f"port {port} on 127.0.0.1 is in use by another program" in out
    assert "--port 0 for a free one" in out and "Traceback" not in out
