"""Seeds with `output_schema`, `tools` and `turns`, end to end through the CLI against the
scripted model of `kinds_world`: what is kept has the seed's shape, what is not is dropped
with its reason, and the exports read back with `datasets` and pass OpenAI's rules (checked
here by our own reading of them, not by the code under test)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
from datasets import load_dataset

from tests.cli import cli
from tests.flows.world import scored_verdict
from tests.generate import kinds_world
from tests.scripted_server import Reply, ScriptedServer

DATA = Path(__file__).parent / "data" / "kinds"
SCHEMA_SEED = DATA / "orders_json.yaml"
TOOLS_SEED = DATA / "order_tools.yaml"
TURNS_SEED = DATA / "support_turns.yaml"


def _run(server: ScriptedServer, seed: Path, out: Path, pairs: int, *extra: Any) -> str:
    config = out.parent / f"{out.name}.yaml"
    config.write_text("curation: {judge: {enabled: 'off'}}\n")
    code, text = cli("run", seed, "--pairs", pairs, "--out", out, "--base-url",
                     server.base_url, "--model", "test-model", "--config", config,
                     "--allow-short", *extra)
    assert code == 0, text
    return text


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for f in ("train", "validation")
            for x in (out / "openai" / f"{f}.jsonl").read_text().splitlines()]


def openai_tool_line_errors(line: dict[str, Any]) -> list[str]:
    """OpenAI's rules for a function-calling fine-tuning line, as its guide states them."""
    errors = []
    tools = {t["function"]["name"]: t["function"] for t in line.get("tools", [])
             if t.get("type") == "function"}
    msgs = line["messages"]
    pending: dict[str, str] = {}
    for m in msgs:
        if m["role"] == "assistant" and "tool_calls" in m:
            for c in m["tool_calls"]:
                if c["type"] != "function" or c["function"]["name"] not in tools:
                    errors.append(f"undeclared tool {c['function']['name']}")
                    continue
                args = json.loads(c["function"]["arguments"])  # a JSON string
                jsonschema.validate(args, tools[c["function"]["name"]]["parameters"])
                pending[c["id"]] = c["function"]["name"]
        elif m["role"] == "tool":
            if pending.pop(m["tool_call_id"], None) is None:
                errors.append("tool message answers no call")
            if not isinstance(m["content"], str):
                errors.append("tool content not text")
        elif not isinstance(m.get("content"), str) or not m["content"]:
            errors.append(f"{m['role']} message without content")
    if pending:
        errors.append(f"calls without a reply: {sorted(pending)}")
    if msgs[-1]["role"] != "assistant" or "tool_calls" in msgs[-1]:
        errors.append("does not end with an assistant answer")
    return errors


def test_structured_output_keeps_only_answers_that_validate(prefect_harness,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(kinds_world.handler) as server:
        _run(server, SCHEMA_SEED, out, 12)
    answers = [r for r in server.requests if "response_format" in r]
    assert answers and all(r["response_format"]["type"] == "json_object"  # a local server
                           and r["response_format"]["schema"] == kinds_world.SCHEMA
                           for r in answers)
    records = pd.read_parquet(out / "records.parquet")
    kept = records[records["keep"]]
    assert len(kept) == 12
    for text in kept["response"]:
        jsonschema.validate(json.loads(text), kinds_world.SCHEMA)
    dropped = records[records["drop_reason"].isin(["not_json", "schema_invalid"])]
    assert set(dropped["drop_reason"]) == {"not_json", "schema_invalid"}
    details = [json.loads(m)["verdict_detail"] for m in dropped["metadata"]]
    assert {"field": "/total"} .items() <= next(
        d for d, r in zip(details, dropped["drop_reason"], strict=True)
        if r == "schema_invalid").items()
    lines = _lines(out)
    assert all(json.loads(line["messages"][-1]["content"]) for line in lines)
    hf = load_dataset(str(out / "hf"))
    assert {json.loads(row["messages"][-1]["content"])["total"] for row in hf["train"]}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shapes"]["schema_failures"]["/total"] >= 1
    assert ("| order-extraction | 12 | customer, total, items | customer, total, items |"
            in (out / "hf" / "README.md").read_text())
    page = (out / "report.html").read_text()
    assert "schema field that failed" in page and "<td>/total</td>" in page


def test_tool_calls_export_as_openai_function_calling_lines(prefect_harness,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(kinds_world.handler) as server:
        _run(server, TOOLS_SEED, out, 16)
    with_tools = [r for r in server.requests if r.get("tools")]
    assert with_tools and all([t["function"]["name"] for t in r["tools"]] ==
                              ["get_order", "refund"] for r in with_tools)
    # the final answer is asked for with the tool replies in context
    assert any(r["messages"][-1]["role"] == "tool" for r in with_tools)
    # a tool without a callable or examples is played by the model
    assert any(m["content"].startswith("You stand in for the function `refund`")
               for r in server.requests for m in r["messages"] if m["role"] == "user")
    records = pd.read_parquet(out / "records.parquet")
    reasons = set(records["drop_reason"].dropna())
    assert {"bad_arguments", "unknown_tool"} & reasons, reasons
    lines = _lines(out)
    assert len(lines) == 16
    assert any("tool_calls" in m for line in lines for m in line["messages"])
    assert any(not any("tool_calls" in m for m in line["messages"]) for line in lines)
    for line in lines:
        assert [t["function"]["name"] for t in line["tools"]] == ["get_order", "refund"]
        assert openai_tool_line_errors(line) == [], line
    code, text = cli("validate", out / "openai" / "train.jsonl", "-m",
                     "gpt-4o-mini-2024-07-18")
    assert code == 0, text
    assert "tool definitions" in text
    hf = load_dataset(str(out / "hf"))
    row = next(r for r in hf["train"] if any(m["tool_calls"] for m in r["messages"]))
    assert json.loads(row["tools"])[0]["function"]["name"] == "get_order"
    call = next(m for m in row["messages"] if m["tool_calls"])["tool_calls"][0]
    reply = next(m for m in row["messages"] if m["role"] == "tool")
    assert reply["tool_call_id"] == call["id"]
    calling = sum(any("tool_calls" in m for m in line["messages"]) for line in lines)
    card = (out / "hf" / "README.md").read_text()
    assert f"**Tool calling**: {calling} of the 16 kept records" in card
    assert "Multi-turn" not in card  # a request answered through tools is one user turn
    page = (out / "report.html").read_text()
    assert f"<td>1</td><td class=num>{calling}</td>" in page.replace("\n", "")
    assert "its calls and the tool replies are not user turns" in page


HANG = """
import time

def slow(order_id):
    time.sleep(30)

def broken(**arguments):
    raise RuntimeError("no database")
"""


def test_a_hanging_tool_is_cut_off_and_recorded(prefect_harness, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shop_tools.py").write_text(HANG)
    monkeypatch.syspath_prepend(str(tmp_path))
    seed = tmp_path / "seed.yaml"
    seed.write_text(TOOLS_SEED.read_text().replace(
        "    examples:\n      - arguments: {order_id: A100}\n"
        "        result: {status: shipped, eta: 2 days}\n",
        "    call: shop_tools:slow\n") + "tool_timeout_s: 0.5\n")
    out = tmp_path / "run"
    with ScriptedServer(kinds_world.handler) as server:
        config = tmp_path / "run.yaml"
        config.write_text("curation: {judge: {enabled: 'off'}}\ngeneration: {max_rounds: 1}\n")
        code, text = cli("run", seed, "--pairs", 4, "--out", out, "--base-url",
                         server.base_url, "--model", "test-model", "--config", config,
                         "--allow-short", "--allow-empty")
    assert code in (0, 6, 7), text  # the run ends (kept or short), never stalls
    records = pd.read_parquet(out / "records.parquet")
    failed = records[records["drop_reason"] == "tool_failed"]
    assert len(failed) >= 1
    detail = json.loads(failed["metadata"].iloc[0])["verdict_detail"]
    assert detail["tool"] == "get_order" and "did not return within 0.5 s" in detail["error"]


BASE = """id: bad
domain: test
description: a seed with a broken shape
system: You help.
task: Ask for help with an order.
examples: ["Where is order A1?"]
"""
TOOL = """tools:
  - type: function
    function: {name: get_order, parameters: {type: object, properties: {id: {type: string}}}}
"""


@pytest.mark.parametrize(("extra", "field", "said"), [
    ("tools:\n  - type: function\n    function: {description: x}\n",
     "tools.0.function.name", "add the field"),
    ("tools:\n  - type: function\n    function: {name: f, parameters: {type: objekt}}\n",
     "tools.0.function.parameters", "not a valid JSON schema"),
    ("output_schema: {type: object, required: name}\n", "output_schema",
     "not a valid JSON schema"),
    ("turns: 0\n", "turns", "greater than or equal to 2"),
    ("turns: 50\n", "turns", "lower `turns`"),
    (TOOL + "    call: no_such_module_here:f\n", "tools.0", "cannot import module"),
    (TOOL + "    call: shop_tools:broken\n    examples: [{arguments: {id: A1}, result: x}]\n",
     "tools.0", "raised RuntimeError: no database"),
])
def test_bad_shapes_fail_before_any_call(extra: str, field: str, said: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shop_tools.py").write_text(HANG)
    monkeypatch.syspath_prepend(str(tmp_path))
    seed = tmp_path / "bad.yaml"
    seed.write_text(BASE + extra)
    with ScriptedServer(kinds_world.handler) as server:
        code, text = cli("run", seed, "--out", tmp_path / "run", "--base-url",
                         server.base_url, "--model", "test-model")
    assert server.requests == []
    assert code == 2, text
    flat = " ".join(text.split())
    assert "Traceback" not in text
    assert str(seed.name) in flat and f"field `{field}`" in flat and said in flat, flat


def test_turns_export_conversations_of_exactly_that_many_turns(prefect_harness,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "run"
    # The run's requests differ with its folder (the run id), so chance alone may plant no
    # failure: the first later-turn answer the model writes is cut off and the second is a
    # refusal, whichever conversations they fall in.
    later = itertools.count()

    def handler(body: dict[str, Any], n: int) -> Reply:
        if body["messages"][-1]["content"].startswith("Could you say more"):
            k = next(later)
            if k == 0:
                return Reply("The answer to that is", "length")
            if k == 1:
                return Reply("I'm sorry, but I can't share more about that in this chat.")
        return kinds_world.handler(body, n)

    with ScriptedServer(handler) as server:
        _run(server, TURNS_SEED, out, 6)
    players = [r for r in server.requests
               if r["messages"][-1]["content"].startswith("You play the user")]
    assert players  # the third turn's user message was written from the conversation so far
    assert all("Assistant:" in r["messages"][-1]["content"] for r in players)
    lines = _lines(out)
    assert len(lines) == 6
    for line in lines:
        roles = [m["role"] for m in line["messages"]]
        assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    # each answer was asked with the whole conversation before it
    last = [r for r in server.requests if len(r["messages"]) == 6]
    assert last and all(r["messages"][0]["role"] == "system" for r in last)
    hf = load_dataset(str(out / "hf"))
    assert all(len(row["messages"]) == 7 for row in hf["train"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shapes"]["kept_by_turns"] == {"3": 6}
    card = (out / "hf" / "README.md").read_text()
    assert "**Multi-turn**: 6 of the 6 kept records" in card and "| 3 | 6 |" in card
    records = pd.read_parquet(out / "records.parquet")
    failed = records[records["drop_reason"] == "turn_failed"]
    assert len(failed) >= 1  # dropped whole, with the turn that failed
    # cut off at generation: the turn and why in the metadata
    cut = [json.loads(m).get("verdict_detail") for m in failed["metadata"]]
    assert any(d and d["turn"] in (2, 3) and d["error"] == "truncated" for d in cut)
    # a refusal in a later turn: curation's answer checks, run over every turn, drop the
    # whole conversation and say which turn failed and for what
    refused = [json.loads(s).get("turn_failed") for s in failed["scores"]]
    refused = [d for d in refused if d]
    assert refused and {d["reason"] for d in refused} == {"refusal"}
    assert {d["turn"] for d in refused} <= {2, 3}
    for line in lines:  # no kept conversation holds a refusal in any turn
        assert not any("I'm sorry, but I can't" in m["content"] for m in line["messages"])
    assert "turn 2: refusal" in manifest["shapes"]["failed_turns"] or \
        "turn 3: refusal" in manifest["shapes"]["failed_turns"]


def test_turns_preference_pairs_differ_in_the_last_answer_alone(prefect_harness,
                                                                 tmp_path: Path) -> None:
    """With preference pairs, a conversation's candidates share every turn before the last
    answer (asked once), and the judge, shown the whole conversation, scores the last answers
    apart: the pairs' prompts are the conversations up to the last user turn."""

    def handler(body: dict[str, Any], n: int) -> Reply:
        if "strict reviewer of training data" in body["messages"][0]["content"]:
            return Reply(scored_verdict(body["messages"][-1]["content"]))
        if body["messages"][-1]["content"].startswith("Could you say more"):
            # every later answer good, each its own: every conversation makes candidates
            return Reply(kinds_world.prose(random.Random(json.dumps(body, sort_keys=True))))
        return kinds_world.handler(body, n)

    out = tmp_path / "run"
    config = tmp_path / "run.yaml"
    config.write_text("preference: {}\n")
    with ScriptedServer(handler) as server:
        args = ("run", TURNS_SEED, "--pairs", 6, "--out", out, "--base-url", server.base_url,
                "--model", "test-model", "--config", config, "--allow-short")
        code, text = cli(*args)
        assert code == 0, text
        asked = len(server.requests)
        bodies = [json.dumps(r, sort_keys=True) for r in server.requests]
        assert len(set(bodies)) == asked  # what candidates share was asked once
        code, text = cli(*args)  # a rerun: every answer and verdict from the cache
        assert code == 0, text
        assert len(server.requests) == asked
    judged = [r["messages"][-1]["content"] for r in server.requests
              if "strict reviewer" in r["messages"][0]["content"]]
    assert any("User: Could you say more" in j for j in judged)  # the later turns
    roles = ["system", "user", "assistant", "user", "assistant", "user"]
    sft = {json.dumps(line["messages"][:-1]) for line in _lines(out)}
    rows = [json.loads(x) for f in sorted((out / "openai").glob("preference_*.jsonl"))
            for x in f.read_text().splitlines()]
    assert rows
    for row in rows:
        prompt = row["input"]["messages"]
        assert [m["role"] for m in prompt] == roles
        assert json.dumps(prompt) in sft  # the chosen conversation, up to its last user turn
        assert row["preferred_output"] != row["non_preferred_output"]
    records = pd.read_parquet(out / "records.parquet")
    turns = {r: json.loads(m).get("turns") for r, m in zip(records["id"], records["metadata"],
                                                           strict=True)}
    for meta in records["metadata"]:
        parent = json.loads(meta).get("candidate_of")
        mine = json.loads(meta).get("turns")
        if parent and mine and turns[parent] and len(mine) == len(turns[parent]) == 6:
            assert mine[:-1] == turns[parent][:-1] and mine[-1] != turns[parent][-1]
    trl = load_dataset(str(out / "hf"), "preference")
    trl_rows = [r for s in trl for r in trl[s].to_list()]
    assert len(trl_rows) == len(rows)
    for r in trl_rows:
        assert [m["role"] for m in r["prompt"]] == roles
        assert r["chosen"] != r["rejected"] and r["chosen"][0]["role"] == "assistant"
    assert {json.dumps(r["prompt"]) for r in trl_rows} == {
        json.dumps(row["input"]["messages"]) for row in rows}
