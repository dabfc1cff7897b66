"""LLM-as-judge against a scripted OpenAI-compatible server: real HTTP, strict parsing,
stored scores, the threshold applied by the `judge` check, the cache, and on/off per
endpoint."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pandas as pd

from datagen.checks.judge import JudgeConfig, judge_enabled
from datagen.config import RunConfig
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.llm.judge import (
    CONVERSATION_CHARS,
    judge_messages,
    judge_records,
    parse_verdict,
    response_format,
)
from datagen.run import stages
from datagen.run.plan import plan_run
from tests.conftest import NDA_SEED
from tests.curate.helpers import GOOD_RESPONSE, cfg, records, run
from tests.scripted_server import Reply, ScriptedServer

TOPICS = ("indemnity", "termination", "assignment", "warranty", "arbitration", "notice")


def verdict(score: int, **extra: object) -> str:
    return json.dumps({"correctness": score, "instruction_following": 9, "domain_fit": 8,
                       "rationale": f"scored {score}", **extra})


def scripted(body: dict, n: int) -> Reply:
    """The reply depends on which topic the judged instruction is about."""
    prompt = body["messages"][-1]["content"]
    if "indemnity" in prompt:
        return Reply(content=verdict(9))
    if "termination" in prompt:
        return Reply(content=verdict(3))
    if "assignment" in prompt:
        return Reply(content="```json\n" + verdict(9) + "\n```")  # fenced: not strict JSON
    if "warranty" in prompt:
        return Reply(content=verdict(11))  # out of range
    if "arbitration" in prompt:
        return Reply(content=verdict(8, extra_key=1))
    return Reply(content=json.dumps({"correctness": 7.5, "instruction_following": 9,
                                     "domain_fit": 8, "rationale": "float"}))


def pairs() -> pd.DataFrame:
    return records(*({"instruction": f"Explain how a {t} clause works in a supplier contract.",
                      "response": GOOD_RESPONSE} for t in TOPICS))


def endpoint(server: ScriptedServer, kind: str = "local") -> Endpoint:
    return Endpoint(base_url=server.base_url, model="test-model", kind=kind,
                    identity=f"{kind}:judge-test")


async def judge(df: pd.DataFrame, server: ScriptedServer, cache: ResponseCache | None = None,
                ) -> pd.DataFrame:
    client = LLMClient(endpoint(server), cache, max_concurrency=4, max_retries=0)
    try:
        return await judge_records(df, client, JudgeConfig(),
                                   response_fmt=response_format("auto", "local"))
    finally:
        await client.aclose()


def scores(df: pd.DataFrame) -> list[dict]:
    return [json.loads(s) for s in df["scores"]]


def test_scores_are_parsed_strictly_and_stored(tmp_path: Path) -> None:
    with ScriptedServer(scripted) as server:
        out = asyncio.run(judge(pairs(), server))
    assert len(server.requests) == len(TOPICS)
    req = server.requests[0]
    assert req["response_format"]["type"] == "json_object"
    assert req["response_format"]["schema"]["properties"]["correctness"]["maximum"] == 10
    assert req["temperature"] == 0.0
    assert "invented statutes" in req["messages"][-1]["content"]  # the legal rubric
    s = scores(out)
    assert s[0]["judge"] == 8 and s[0]["judge_correctness"] == 9  # the lowest criterion
    assert s[0]["judge_rationale"] == "scored 9"
    assert s[1]["judge"] == 3
    for bad in s[2:]:
        assert "judge" not in bad and bad["judge_error"]
    assert "not JSON" in s[2]["judge_error"]
    assert "1-10" in s[3]["judge_error"] and "expected keys" in s[4]["judge_error"]
    assert "integer" in s[5]["judge_error"]


def test_threshold_is_applied_by_curation_from_stored_scores() -> None:
    with ScriptedServer(scripted) as server:
        out = asyncio.run(judge(pairs(), server))
    curated = run(out, cfg(skip=["dedup"]))  # six near-identical instructions
    assert curated["drop_reason"].fillna("").tolist() == ["", "judge_low_score", "", "", "", ""]
    # a new threshold re-curates with no call at all, and keeps the stored scores
    strict = run(curated, cfg(judge={"threshold": 9}, skip=["dedup"]))
    assert strict["drop_reason"].iloc[0] == "judge_low_score"
    assert scores(strict)[0]["judge"] == 8


def test_cached_and_scored_pairs_are_not_asked_again(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with ScriptedServer(scripted) as server:
        first = asyncio.run(judge(pairs(), server, cache))
        asked = len(server.requests)
        again = asyncio.run(judge(pairs(), server, cache))  # fresh records, cached answers
        assert len(server.requests) == asked
        assert scores(again)[:2] == scores(first)[:2]
        asyncio.run(judge(first, server))  # no cache, but scored pairs are skipped
        assert len(server.requests) == asked + 4  # only the four unparseable ones


def test_judge_stage_and_when_it_is_on(tmp_path: Path) -> None:
    plan = plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(tmp_path / "run")))
    with ScriptedServer(scripted) as server:
        df, usage = asyncio.run(stages.judge_stage(plan, pairs(), endpoint(server)))
        assert len(server.requests) == len(TOPICS) and usage["requests"] == len(TOPICS)
        assert scores(df)[0]["judge"] == 8
    auto = JudgeConfig()
    assert judge_enabled(auto, "local") and judge_enabled(auto, "openai")
    assert not judge_enabled(auto, "embedded")  # too weak to judge
    assert judge_enabled(JudgeConfig(enabled="on"), "embedded")
    assert not judge_enabled(JudgeConfig(enabled="off"), "openai")


def test_parse_verdict_accepts_exactly_the_schema() -> None:
    assert parse_verdict(verdict(5))["correctness"] == 5
    for bad in (None, "", "[]", verdict(True), verdict(5, rationale="x" * 301)):
        try:
            parse_verdict(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


# sha256 of a single exchange's judge request (plain, and grounded), as every earlier release
# sent it: a change here re-asks (and re-pays) every cached verdict
SINGLE_GOLDEN = "6a3ce227c0683d6965c78840ea3767885847b0a0be779b439e782f7af6ade94b"
GROUNDED_GOLDEN = "c111d576db01f630f6d3524ba78d7a9bbf7e02477a5d209a8c624cd466655bcd"


def _digest(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def test_a_single_exchange_is_judged_with_the_same_request_as_ever() -> None:
    assert _digest(judge_messages("legal", "Explain an indemnity clause.",
                                  "It shifts losses.")) == SINGLE_GOLDEN
    assert _digest(judge_messages("e-commerce/orders", "Where is order A1?", "It shipped.",
                                  "Order A1 shipped on May 2.")) == GROUNDED_GOLDEN
    one = records({"instruction": "Explain an indemnity clause.", "response": "It shifts losses.",
                   "metadata": json.dumps({"stage": "expand"})})
    with ScriptedServer(scripted) as server:
        asyncio.run(judge(one, server))
    assert _digest(server.requests[0]["messages"]) == SINGLE_GOLDEN  # the record's own path


def test_the_judge_reads_the_whole_conversation() -> None:
    turns = [{"role": "user", "content": "Explain an indemnity clause."},
             {"role": "assistant", "content": "It shifts losses between the parties."},
             {"role": "user", "content": "And a termination clause?"},
             {"role": "assistant", "content": "It ends the contract on notice."},
             {"role": "user", "content": "Can I cap the indemnity?"},
             {"role": "assistant", "content": "Yes, with a liability cap in the contract."}]
    tooled = [{"role": "user", "content": "Where is my order A100 for the warranty claim?"},
              {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                                    "function": {"name": "get_order",
                                                                 "arguments": '{"order_id": '
                                                                              '"A100"}'}}]},
              {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
              {"role": "assistant", "content": "Your order A100 has shipped."}]
    long = [m for k in range(40) for m in (
        {"role": "user", "content": f"Question {k} on notice periods? " + "x" * 3000},
        {"role": "assistant", "content": f"Answer {k} on notice periods."})]
    df = records(*({"instruction": t[0]["content"], "response": t[1].get("content") or "",
                    "metadata": json.dumps({"turns": t})} for t in (turns, tooled, long)))
    with ScriptedServer(lambda body, n: Reply(content=verdict(8))) as server:
        out = asyncio.run(judge(df, server))
    asked = [r["messages"][-1]["content"] for r in server.requests]
    convo = next(a for a in asked if "indemnity clause" in a)
    assert "User: And a termination clause?" in convo
    assert "Assistant: It ends the contract on notice." in convo
    assert "User: Can I cap the indemnity?" in convo  # the last user turn
    assert "Answer:\nYes, with a liability cap in the contract." in convo  # the last answer
    assert "Instruction:" not in convo
    call = next(a for a in asked if "order A100" in a)
    assert 'Assistant calls get_order({"order_id": "A100"})' in call
    assert 'Tool get_order replies: {"status": "shipped"}' in call
    assert "Answer:\nYour order A100 has shipped." in call
    cut = next(a for a in asked if "notice periods" in a)
    assert len(cut) < CONVERSATION_CHARS + 2000  # bounded, though the turns hold 120k chars
    assert "Question 0 on notice periods" in cut and "earlier messages left out" in cut
    assert "Question 39 on notice periods" in cut  # the latest kept
    assert "Answer:\nAnswer 39 on notice periods." in cut
    assert {s["judge_prompt"] for s in scores(out)} == {"judge_conversation.v1"}
