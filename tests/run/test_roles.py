"""Model roles: a teacher and a judge on two real loopback servers. Which role went where is
read from the servers' own request logs; the manifest names every model by role with its own
tokens and cost; a re-judge calls the judge alone; the run line counts pairs kept after the
judge; a bad `roles:` is one clear error before any call."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datagen.config import RunConfig
from datagen.llm.cache import cache_key
from datagen.run import run
from flows.artifacts import cost_markdown
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler, scored_verdict
from tests.generate.helpers import by_prompt
from tests.scripted_server import Reply, ScriptedServer

SECRET = "judge-secret-4711"
REVIEWER = "strict reviewer"  # the judge's system prompt (datagen.llm.judge)
PRICES = "  prices: {teacher: {input: 1.0, output: 2.0}, judge-m: {input: 3.0, output: 4.0}}\n"


def is_judge_call(body: dict[str, Any]) -> bool:
    return any(REVIEWER in str(m.get("content")) for m in body["messages"]
               if m["role"] == "system")


def judge(score: int) -> Any:
    """A judge model that gives every pair `score` (and answers nothing else)."""
    def answer(body: dict[str, Any], n: int) -> Reply:
        if not is_judge_call(body):
            return Reply("I only judge.", status=400)
        verdict = {"correctness": score, "instruction_following": score, "domain_fit": score,
                   "rationale": "scored"}
        return Reply(json.dumps(verdict), prompt_tokens=50, completion_tokens=20)
    return answer


def teacher_and_judge(body: dict[str, Any], n: int) -> Reply:
    """One model that writes the answers and judges them too."""
    return judge(8)(body, n) if is_judge_call(body) else handler(body, n)


def _config(tmp: Path, text: str = "") -> Path:
    path = tmp / "run.yaml"
    path.write_text("llm:\n  max_retries: 0\n" + PRICES + text)
    return path


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def test_a_judge_flag_sends_every_judge_call_to_the_judge(prefect_harness,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(handler, models=("teacher",)) as teacher, \
            ScriptedServer(judge(8), models=("judge-m",)) as judging:
        code, printed = cli("run", NDA_SEED, "--pairs", "4", "--out", out, "--allow-short",
                            "--base-url", teacher.base_url, "--model", "teacher",
                            "--judge-base-url", f"{judging.base_url}?api-key={SECRET}",
                            "--judge-model", "judge-m",
                            "--config", _config(tmp_path, "models:\n  judge:\n  " + PRICES))
        assert code == 0, printed
        asked_teacher = [b for b in teacher.requests if "messages" in b]
        asked_judge = [b for b in judging.requests if "messages" in b]
        judge_paths = list(judging.paths)
    assert asked_judge and all(is_judge_call(b) and b["model"] == "judge-m" for b in asked_judge)
    # the judge URL's secret goes to the judge as a query parameter, and nowhere else
    assert all(f"api-key={SECRET}" in p for p in judge_paths), judge_paths
    assert SECRET not in printed
    assert not [f for f in out.rglob("*") if f.is_file() and SECRET.encode() in f.read_bytes()]
    assert asked_teacher and not any(is_judge_call(b) for b in asked_teacher)
    assert {b["model"] for b in asked_teacher} == {"teacher"}
    manifest = _manifest(out)
    models = manifest["models"]
    assert models["judge"]["model"] == "judge-m" and models["respond"]["model"] == "teacher"
    assert models["expand"]["model"] == "teacher"
    assert models["judge"]["requests"] == len(asked_judge)
    assert models["expand"]["requests"] + models["respond"]["requests"] == len(asked_teacher)
    # each role's tokens and cost are its own (the judge: 50 in, 20 out a call at $3/$4)
    assert models["judge"]["prompt_tokens"] == 50 * len(asked_judge)
    assert models["judge"]["cost_usd"] == pytest.approx(len(asked_judge) * (150 + 80) / 1e6)
    assert models["respond"]["cost_usd"] > 0 and models["respond"]["prompt_tokens"] > 0
    total = sum(m["cost_usd"] for m in models.values())
    assert total == pytest.approx(manifest["llm"]["cost_usd"], abs=1e-5)
    assert manifest["self_judged"] is False
    assert "models by role:" in printed and "judge-m" in printed
    assert "self-judged" not in printed
    assert re.search(r"\| judge \| judge-m \| local \| " + str(len(asked_judge)) + r" \|",
                     cost_markdown(manifest)), cost_markdown(manifest)
    records = pd.read_parquet(out / "records.parquet")
    kept = records[records["keep"]]
    assert len(kept) and all(json.loads(s)["judge"] == 8 for s in kept["scores"])

    # a re-judge by another judge: only judge calls, none to the teacher
    with ScriptedServer(handler, models=("teacher",)) as teacher, \
            ScriptedServer(judge(3), models=("judge-2",)) as strict:
        code, printed = cli("curate", out, "--judge-base-url", strict.base_url,
                            "--judge-model", "judge-2")
        assert code == 0, printed
        assert teacher.requests == []
        asked = [b for b in strict.requests if "messages" in b]
    assert asked and all(is_judge_call(b) and b["model"] == "judge-2" for b in asked)
    assert len(asked) >= len(kept)
    again = _manifest(out)
    assert again["models"]["judge"]["model"] == "judge-2"
    assert again["models"]["judge"]["requests"] == len(asked)
    assert again["models"]["respond"] == models["respond"]  # paid before, unchanged
    assert again["counts"]["kept"] == 0  # the strict judge dropped every pair
    records = pd.read_parquet(out / "records.parquet")
    answered = records[records["response"].notna() & records["drop_reason"].isin(
        ["judge_low_score"])]
    assert len(answered) >= len(kept)
    assert all(json.loads(s)["judge"] == 3 for s in answered["scores"])


def test_one_model_judging_its_own_answers_is_said(prefect_harness, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(teacher_and_judge, models=("teacher",)) as server:
        code, printed = cli("run", NDA_SEED, "--pairs", "3", "--out", out, "--allow-short",
                            "--base-url", server.base_url, "--model", "teacher",
                            "--config", _config(tmp_path))
    assert code == 0, printed
    manifest = _manifest(out)
    assert manifest["self_judged"] is True
    assert manifest["models"]["judge"]["model"] == manifest["models"]["respond"]["model"]
    assert "self-judged" in printed and "--judge-base-url" in printed


def test_the_run_line_counts_pairs_kept_after_the_judge(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """A judge that drops every pair: the seed stops at its attempt limit, short, and the
    run line keeps saying 0 kept (it used to count a stopped seed as done: "4/4 (100%)")."""
    def harsh(body: dict[str, Any], n: int) -> Reply:
        return judge(2)(body, n) if is_judge_call(body) else handler(body, n)

    with ScriptedServer(harsh, models=("teacher",)) as server:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "pairs": 4, "out": str(tmp_path / "run"),
            "llm": {"base_url": server.base_url, "model": "teacher", "max_retries": 0},
            "generation": {"max_calls_per_seed": 2}})  # then the seed stops, short
        with caplog.at_level(logging.INFO, logger="datagen.progress"):
            result = asyncio.run(run(cfg))
    assert result.counts["kept"] == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run:")]
    assert len(lines) >= 2, lines  # the seed went on for rounds, then stopped
    assert all(line.startswith("run: 0/4 pairs kept (0%)") for line in lines), lines
    assert "judge $" in lines[-1]  # the cost of each role on the run line


@pytest.mark.parametrize(("text", "says"), [
    ("roles:\n  grader: strict\n", ["`roles`", "unknown role grader",
                                    "expand, respond, follow_up, judge"]),
    ("roles:\n  judge: strict\n", ["`roles`", "roles.judge names model 'strict'",
                                   "does not declare"]),
    ("models:\n  strict: {model: m, max_cost_usd: 1}\nroles:\n  judge: strict\n",
     ["`models`", "strict.max_cost_usd", "set llm.max_cost_usd"]),
])
def test_a_bad_roles_section_fails_before_any_call(tmp_path: Path, text: str,
                                                   says: list[str]) -> None:
    with ScriptedServer(handler) as server:
        config = _config(tmp_path, text)
        code, printed = cli("run", NDA_SEED, "--out", tmp_path / "run", "--base-url",
                            server.base_url, "--config", config)
        assert server.requests == [] and server.paths == []
    assert code == 2, printed
    assert str(config) in printed and "Traceback" not in printed
    for part in says:
        assert part in printed, printed


def test_answers_never_cross_models_or_params() -> None:
    msgs = [{"role": "user", "content": "Draft a clause."}]
    key = cache_key("local:abc", "teacher", msgs, {"temperature": 0.7})
    assert key != cache_key("local:abc", "judge-m", msgs, {"temperature": 0.7})
    assert key != cache_key("local:def", "teacher", msgs, {"temperature": 0.7})
    assert key != cache_key("local:abc", "teacher", msgs, {"temperature": 0.0})


def test_the_budget_covers_every_role_together(tmp_path: Path) -> None:
    """A free teacher and a priced judge: the cap stops the judge's calls, and what every
    role spent together stays under it."""
    cap = 0.003
    with ScriptedServer(handler, models=("teacher",)) as teacher, \
            ScriptedServer(judge(8), models=("judge-m",)) as judging:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "pairs": 12, "out": str(tmp_path / "run"),
            "llm": {"base_url": teacher.base_url, "model": "teacher", "max_cost_usd": cap},
            "models": {"strict": {"base_url": judging.base_url, "model": "judge-m",
                                  "prices": {"judge-m": {"input": 3.0, "output": 4.0}}}},
            "roles": {"judge": "strict"}})
        result = asyncio.run(run(cfg))
        judged = len([b for b in judging.requests if "messages" in b])
    models = result.manifest["models"]
    assert result.budget_refused > 0 and judged > 0
    assert models["judge"]["cost_usd"] > 0 and models["respond"]["cost_usd"] == 0
    assert sum(m["cost_usd"] for m in models.values()) <= cap


def test_roles_naming_different_models_have_their_own_limits() -> None:
    from datagen.llm import limits
    from datagen.llm.endpoint import Endpoint

    one = Endpoint(base_url="http://127.0.0.1:1/v1", model="m", kind="local", identity="local:x")
    other = dataclasses.replace(one, name="grader")
    assert one.limits_key != other.limits_key
    assert limits.gate(one.limits_key, 2) is not limits.gate(other.limits_key, 2)
    assert limits.gate(one.limits_key, 2) is limits.gate(one.limits_key, 2)


def is_follow_up_call(body: dict[str, Any]) -> bool:
    """The second turn: asking the follow-up question (one user message that is not an
    expansion) or answering it (an earlier assistant turn in the messages)."""
    msgs = body["messages"]
    return any(m["role"] == "assistant" for m in msgs) or (
        len(msgs) == 1 and "new requests" not in msgs[0]["content"])


def test_follow_up_turns_go_to_their_role(tmp_path: Path) -> None:
    seed = tmp_path / "nda_multi.yaml"
    seed.write_text(NDA_SEED.read_text() + "\nmulti_turn: true\n")
    with ScriptedServer(handler, models=("teacher",)) as teacher, \
            ScriptedServer(handler, models=("chatty",)) as second:
        cfg = RunConfig.model_validate({
            "seeds": [str(seed)], "pairs": 3, "out": str(tmp_path / "run"),
            "llm": {"base_url": teacher.base_url, "model": "teacher", "max_retries": 0},
            "models": {"chat": {"base_url": second.base_url, "model": "chatty"}},
            "roles": {"follow_up": "chat"},
            "curation": {"judge": {"enabled": "off"}}})
        result = asyncio.run(run(cfg))
        asked_teacher = [b for b in teacher.requests if "messages" in b]
        asked_second = [b for b in second.requests if "messages" in b]
    assert asked_second and all(is_follow_up_call(b) for b in asked_second)
    assert not any(is_follow_up_call(b) for b in asked_teacher)
    models = result.manifest["models"]
    assert models["follow_up"]["model"] == "chatty"
    assert models["follow_up"]["requests"] == len(asked_second)
    assert models["expand"]["requests"] + models["respond"]["requests"] == len(asked_teacher)
    assert result.manifest["llm"]["requests"] == len(asked_teacher) + len(asked_second)


STRATEGIES = ("\nstrategies:\n  topics: {depth: 2, degree: 2}\n  personas: {generate: 2}\n"
              "  evolve: {rounds: 1}\n")


def is_topics_call(body: dict[str, Any]) -> bool:
    return any("narrower subtopics" in str(m["content"]) for m in body["messages"])


def is_personas_call(body: dict[str, Any]) -> bool:
    return any("different people who would ask" in str(m["content"]) for m in body["messages"])


def is_strategy_call(body: dict[str, Any]) -> bool:
    return is_topics_call(body) or is_personas_call(body) or is_evolve_call(body)


def is_evolve_call(body: dict[str, Any]) -> bool:
    return any("Write a new version of it" in str(m["content"]) for m in body["messages"])


def strategist(body: dict[str, Any], n: int) -> Reply:
    """The run's model, which also grows topic trees and rewrites requests."""
    return by_prompt(body, n) if is_strategy_call(body) else handler(body, n)


def _strategy_run(tmp_path: Path, roles: dict[str, str]) -> tuple[Any, list[Any], list[Any]]:
    """A run of a seed with the topics, personas and evolve strategies on, `roles` naming `second`
    (a model on a second server); returns the result and each server's chat requests."""
    seed = tmp_path / "nda_strategies.yaml"
    seed.write_text(NDA_SEED.read_text() + STRATEGIES)
    with ScriptedServer(strategist, models=("teacher",)) as teacher, \
            ScriptedServer(strategist, models=("planner",)) as second:
        cfg = RunConfig.model_validate({
            "seeds": [str(seed)], "pairs": 3, "out": str(tmp_path / "run"),
            "llm": {"base_url": teacher.base_url, "model": "teacher", "max_retries": 0},
            "models": {"second": {"base_url": second.base_url, "model": "planner"}},
            "roles": roles, "curation": {"judge": {"enabled": "off"}}})
        result = asyncio.run(run(cfg))
    return (result, [b for b in teacher.requests if "messages" in b],
            [b for b in second.requests if "messages" in b])


def test_strategy_calls_go_to_their_roles(tmp_path: Path) -> None:
    result, asked_teacher, asked_second = _strategy_run(
        tmp_path, {"topics": "second", "personas": "second", "evolve": "second"})
    for asked in (is_topics_call, is_personas_call, is_evolve_call):
        assert any(map(asked, asked_second)), asked
    assert all(map(is_strategy_call, asked_second))
    assert not any(map(is_strategy_call, asked_teacher))
    models = result.manifest["models"]
    assert {models[r]["model"] for r in ("topics", "personas", "evolve")} == {"planner"}
    assert models["expand"]["model"] == models["respond"]["model"] == "teacher"
    for role, asked in (("topics", is_topics_call), ("personas", is_personas_call),
                        ("evolve", is_evolve_call)):
        assert models[role]["requests"] == sum(map(asked, asked_second)), role
    assert models["expand"]["requests"] + models["respond"]["requests"] == len(asked_teacher)
    assert result.manifest["llm"]["requests"] == len(asked_teacher) + len(asked_second)


def test_strategy_roles_left_unset_call_the_expand_model(tmp_path: Path) -> None:
    result, asked_teacher, asked_second = _strategy_run(tmp_path, {"expand": "second"})
    for asked in (is_topics_call, is_personas_call, is_evolve_call):
        assert any(map(asked, asked_second)), asked
    assert not any(map(is_strategy_call, asked_teacher))
    models = result.manifest["models"]
    assert {models[r]["model"] for r in ("expand", "topics", "personas", "evolve")} == {"planner"}
    assert models["respond"]["model"] == "teacher"


def test_a_strategy_role_naming_an_undeclared_model_fails_before_any_call(
        tmp_path: Path) -> None:
    with ScriptedServer(handler) as server:
        config = _config(tmp_path, "roles:\n  evolve: nope\n")
        code, printed = cli("run", NDA_SEED, "--out", tmp_path / "run", "--base-url",
                            server.base_url, "--config", config)
        assert server.requests == [] and server.paths == []
    assert code == 2, printed
    assert str(config) in printed and "Traceback" not in printed
    assert "roles.evolve names model 'nope'" in printed and "does not declare" in printed


def graded_judge(body: dict[str, Any], n: int) -> Reply:
    """A judge model whose scores follow the answer's text (3 to 10), so candidates differ."""
    if not is_judge_call(body):
        return Reply("I only judge.", status=400)
    return Reply(scored_verdict(body["messages"][-1]["content"]), prompt_tokens=50,
                 completion_tokens=20)


def test_preference_pairs_judged_by_the_judge_role_alone(prefect_harness,
                                                        tmp_path: Path) -> None:
    """The issue's whole case: a teacher, a judge on its own endpoint, preference pairs."""
    out = tmp_path / "run"
    with ScriptedServer(handler, models=("teacher",)) as teacher, \
            ScriptedServer(graded_judge, models=("judge-m",)) as judging:
        code, printed = cli("run", NDA_SEED, "--pairs", "12", "--out", out, "--allow-short",
                            "--base-url", teacher.base_url, "--model", "teacher",
                            "--judge-base-url", judging.base_url, "--judge-model", "judge-m",
                            "--preference",
                            "--config", _config(tmp_path, "models:\n  judge:\n  " + PRICES))
        assert code == 0, printed
        asked_teacher = [b for b in teacher.requests if "messages" in b]
        asked_judge = [b for b in judging.requests if "messages" in b]
    assert asked_teacher and not any(is_judge_call(b) for b in asked_teacher)
    assert asked_judge and all(is_judge_call(b) for b in asked_judge)
    models = _manifest(out)["models"]
    assert models["judge"]["model"] == "judge-m" and models["respond"]["model"] == "teacher"
    assert models["judge"]["requests"] == len(asked_judge)
    assert models["judge"]["cost_usd"] > 0 and models["respond"]["cost_usd"] > 0
    records = pd.read_parquet(out / "records.parquet")
    kept = records[records["keep"]]
    assert len(kept) and all("judge" in json.loads(s) for s in kept["scores"])
    lines = [json.loads(line) for name in ("preference_train", "preference_validation")
             for line in (out / "openai" / f"{name}.jsonl").read_text().splitlines()]
    assert lines, "no preference pair"
    for line in lines:
        assert line["input"]["messages"][-1]["role"] == "user"
        chosen, rejected = line["preferred_output"], line["non_preferred_output"]
        assert [m["role"] for m in chosen] == [m["role"] for m in rejected] == ["assistant"]
        assert chosen[0]["content"] != rejected[0]["content"]
