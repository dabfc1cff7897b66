"""The record viewer on tool-calling and structured-output records, in a real headless
Chromium: a tool call shows its tool's name and its arguments as indented JSON, a tool reply
the call it answers, a JSON answer indented; hostile text (`<!--`, `</script>`,
`<img onerror>`) inside a tool argument, a tool reply and a JSON answer shows as written and
runs nothing. Screenshots land in `test-artifacts/` (DATAGEN_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.generate import kinds_world
from tests.generate.test_kinds import SCHEMA_SEED, TOOLS_SEED
from tests.report.conftest import Page
from tests.report.test_report_untrusted import HOSTILE, cli
from tests.scripted_server import Reply, ScriptedServer, tool_call


def hostile_kinds(body: dict[str, Any], n: int) -> Reply:
    """`kinds_world`, with the hostile text in every refund's arguments, in the played tool's
    result and in every JSON answer."""
    msgs = body["messages"]
    user = next(m["content"] for m in reversed(msgs) if m["role"] == "user")
    if body.get("tools") and msgs[-1]["role"] != "tool" and not user.startswith("Write"):
        return Reply(None, "tool_calls", tool_calls=[tool_call(
            "refund", {"order_id": f"A7 {HOSTILE}", "amount": 3}, "call_1")])
    if user.startswith("You stand in for the function"):
        return Reply(json.dumps({"ok": True, "note": HOSTILE}))
    if "response_format" in body:
        return Reply(json.dumps({"customer": HOSTILE, "total": 12, "items": ["a", "b"]}))
    return kinds_world.handler(body, n)


@pytest.fixture(scope="module")
def runs(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kinds-report")
    config = root / "config.yaml"
    config.write_text("curation: {judge: {enabled: 'off'}}\n")
    out = {}
    with ScriptedServer(hostile_kinds) as server:
        for name, seed in (("tools", TOOLS_SEED), ("schema", SCHEMA_SEED)):
            out[name] = root / name
            code, text = cli("run", seed, "--pairs", 4, "--out", out[name], "--base-url",
                             server.base_url, "--model", "test-model", "--config", config,
                             "--allow-short")
            assert code == 0, text
    return out


def _open(page: Page, run: Path, rid: str) -> str:
    page.open(run / "report.html")
    page.page.fill("#q", rid)
    page.page.wait_for_function("() => document.getElementById('count').dataset.n === '1'")
    page.page.locator("#rows tr").first.click()
    page.page.wait_for_selector("#detail:not([hidden]) #mark-keep")
    return page.page.inner_text("#detail-body")


def test_tool_calls_and_replies_show_readably_and_as_text(runs: dict[str, Path],
                                                          page: Page) -> None:
    records = pd.read_parquet(runs["tools"] / "records.parquet")
    called = records[records["metadata"].str.contains('"tool_calls"', na=False)]
    assert len(called)
    rid = str(called["id"].iloc[0])
    body = _open(page, runs["tools"], rid)
    page.shot("report-tool-call.png")
    said = body.lower()  # headings are upper-cased by the page's style
    assert "conversation" in said and "calls refund (call_1)" in said
    assert "tool reply to call_1" in said and "tools the assistant was given" in said
    args = page.page.locator("#detail-body .conversation pre.args").first.inner_text()
    assert json.loads(args) == {"order_id": f"A7 {HOSTILE}", "amount": 3}
    assert args.startswith('{\n  "')  # indented, not the wire's one line
    reply = page.page.locator("#detail-body .conversation h5.tool + pre").first.inner_text()
    assert json.loads(reply)["note"] == HOSTILE
    assert page.page.evaluate("window.pwned") is None
    assert not page.errors, page.errors


def test_a_json_answer_shows_indented_and_as_text(runs: dict[str, Path], page: Page) -> None:
    records = pd.read_parquet(runs["schema"] / "records.parquet")
    answered = records[records["response"].str.startswith("{", na=False)]
    rid = str(answered["id"].iloc[0])
    _open(page, runs["schema"], rid)
    page.shot("report-json-answer.png")
    shown = page.page.locator("#detail-body pre.text").nth(1).inner_text()
    assert shown.startswith('{\n  "') and json.loads(shown)["customer"] == HOSTILE
    assert page.page.evaluate("window.pwned") is None
    assert not page.errors, page.errors
