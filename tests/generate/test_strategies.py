"""Each strategy against a scripted OpenAI-compatible server: the prompts it sends are checked
against golden files (`UPDATE_GOLDEN=1` rewrites them), and what it makes of the answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datagen.config import GenerationConfig
from datagen.generate import expand, follow_up, plan_expansion, respond
from datagen.records import new_records
from datagen.seeds import SeedTask
from tests.generate.helpers import (
    apply_verdicts,
    by_prompt,
    check_golden,
    client_for,
    prompts_of,
    tiny_seed,
)
from tests.scripted_server import Reply, ScriptedServer

GEN = GenerationConfig(instructions_per_call=5, few_shot=2)


def _expand(seed: SeedTask, handler: Any, tmp_path: Path, records: pd.DataFrame | None = None,
            missing: int = 3, mode: str = "text") -> tuple[pd.DataFrame, ScriptedServer]:
    records = new_records([]) if records is None else records
    work = plan_expansion(seed, records, missing, GEN)

    async def go(server: ScriptedServer) -> pd.DataFrame:
        client = client_for(server)
        try:
            return await expand(seed, client, GEN, mode=mode, samples=work, run_id="run",
                                rng_seed=0, folder=tmp_path)
        finally:
            await client.aclose()

    with ScriptedServer(handler) as server:
        return asyncio.run(go(server)), server


def _metas(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(m) for m in df["metadata"]]


def test_plain_asks_a_bounded_schema_in_json_mode(tmp_path: Path) -> None:
    def answer(body: dict[str, Any], n: int) -> Reply:
        return Reply(json.dumps({"instructions": [f"Draft clause {i} for a {w} deal."
                                                  for i, w in enumerate(("bank", "farm"))]}))

    df, server = _expand(tiny_seed(topics=["term", "remedies"]), answer, tmp_path,
                         mode="json_object")
    check_golden("plain_json_object", prompts_of(server))
    schema = server.requests[0]["response_format"]["schema"]["properties"]["instructions"]
    assert schema["items"]["maxLength"] == 300 and schema["maxItems"] == 5
    assert df["keep"].all() and {m["parse"] for m in _metas(df)} == {"json"}


def test_bootstrap_mixes_seed_and_kept_exemplars_and_drops_what_is_not_novel(
        tmp_path: Path) -> None:
    seed = tiny_seed(strategies={"bootstrap": {"exemplars": 4, "machine_share": 0.5}})
    kept = [{"id": f"k{i}", "seed_id": seed.id, "instruction": text, "keep": True,
             "metadata": {"stage": "expand", "sample": i, "round": 0, "strategy": "bootstrap"}}
            for i, text in enumerate(["Write a clause on audit rights of a pharmacy chain.",
                                      "Draft a clause on the term of a hotel booking NDA."])]

    def answer(body: dict[str, Any], n: int) -> Reply:
        return Reply("1. Write a clause on audit rights of a pharmacy chain!\n"
                     "2. Draft a garage franchise non-compete clause with a museum twist.\n"
                     "3. Draft a garage franchise non-compete clause with a museum twist!")

    df, server = _expand(seed, answer, tmp_path, records=new_records(kept), missing=2)
    check_golden("bootstrap", prompts_of(server))
    body = server.requests[0]
    assert (body["temperature"], body["top_p"]) == (0.7, 0.5)  # Self-Instruct's settings
    user = body["messages"][1]["content"]
    assert "audit rights of a pharmacy chain" in user or "hotel booking" in user
    assert _metas(df)[0]["machine_exemplars"] == 2
    verdicts = [m.get("verdict") for m in _metas(apply_verdicts(df))]
    assert verdicts == ["not_novel", None, "not_novel"]
    assert apply_verdicts(df)["drop_reason"].fillna("").tolist() == ["not_novel", "",
                                                                      "not_novel"]


def test_topics_builds_a_saved_tree_and_conditions_on_leaves(tmp_path: Path) -> None:
    seed = tiny_seed(strategies={"topics": {"depth": 2, "degree": 2}})
    df, server = _expand(seed, by_prompt, tmp_path, missing=6)
    check_golden("topics", prompts_of(server))
    tree = json.loads((tmp_path / "topics" / "tiny-nda.json").read_text())
    assert len(tree["tree"]["children"]) == 2
    assert all(len(c["children"]) == 1 for c in tree["tree"]["children"])  # no self-repeat
    paths = [" > ".join(leaf["path"]) for leaf in tree["leaves"]]
    assert len(paths) == 2
    assert {m["topic_path"] for m in _metas(df)} == set(paths)  # every leaf used once


def test_personas_generated_and_crossed_with_topics(tmp_path: Path) -> None:
    seed = tiny_seed(topics=["term", "remedies"], strategies={"personas": {"generate": 2}})
    df, server = _expand(seed, by_prompt, tmp_path, missing=10)
    check_golden("personas", prompts_of(server))
    saved = json.loads((tmp_path / "personas" / "tiny-nda.json").read_text())
    assert saved["source"] == "llm" and len(saved["personas"]) == 2
    combos = {(m["persona"], m["topic"]) for m in _metas(df)}
    assert len(combos) == 3  # 3 calls: persona 1 x term, persona 2 x term, persona 1 x remedies
    given = tiny_seed(strategies={"personas": {"personas": ["a nurse in Lyon"]}})
    _, server2 = _expand(given, by_prompt, tmp_path)
    assert all("a nurse in Lyon" in r["messages"][1]["content"] for r in server2.requests)


def test_evolve_rewrites_parents_and_the_eliminator_drops_bad_evolutions(
        tmp_path: Path) -> None:
    seed = tiny_seed(strategies={"evolve": {"rounds": 2, "operators": ["deepen", "constrain"]}})

    def answer(body: dict[str, Any], n: int) -> Reply:
        parent = body["messages"][1]["content"].split("<<<\n")[1].split("\n>>>")[0]
        return Reply([f"Draft clause {n} with a two-year term for a bakery in Oslo.",
                      parent,  # unchanged
                      "Rewritten request: Write a new version of it for a clinic."][n % 3])

    df, server = _expand(seed, answer, tmp_path, missing=2)
    check_golden("evolve", prompts_of(server))
    metas = _metas(df)
    assert [m["operator"] for m in metas] == ["deepen", "constrain", "deepen"]
    assert [m["depth"] for m in metas] == [1, 1, 1]
    assert [m.get("verdict") for m in metas] == [None, "evol_unchanged", "evol_prompt_copy"]
    # the kept evolution is the next round's parent, one level deeper
    survivors = apply_verdicts(df)
    nxt = plan_expansion(seed, survivors, 1, GEN)
    assert nxt.calls[0].parent["depth"] == 1 and nxt.calls[0].parent["id"] == df["id"].iloc[0]
    assert nxt.calls[0].sample == 3


def test_evolve_unanswerable_and_multi_turn_follow_up(tmp_path: Path) -> None:
    seed = tiny_seed(multi_turn=True)
    rows = [{"id": f"r{i}", "seed_id": seed.id, "system": seed.system, "instruction": text,
             "keep": True, "metadata": meta}
            for i, (text, meta) in enumerate([
                ("Draft an impossible clause.", {"stage": "expand", "parent_id": "example:0"}),
                ("Draft a clause on the term.", {"stage": "expand"}),
                ("Draft a clause on remedies.", {"stage": "expand"})])]

    def answer(body: dict[str, Any], n: int) -> Reply:
        msgs = body["messages"]
        if "impossible" in msgs[-1]["content"]:
            return Reply("I'm sorry, I cannot do that.")
        if len(msgs) == 4 and "remedies" in msgs[1]["content"]:  # the second answer, cut off
            return Reply("The remedies are", finish_reason="length")
        return by_prompt(body, n)

    async def go(server: ScriptedServer) -> pd.DataFrame:
        client = client_for(server)
        try:
            df = await respond(new_records(rows), client, GEN)
            return await follow_up(df, client, GEN, {seed.id: seed})
        finally:
            await client.aclose()

    with ScriptedServer(answer) as server:
        df = asyncio.run(go(server))
    check_golden("respond_multi_turn", prompts_of(server))
    metas = _metas(df)
    assert metas[0]["verdict"] == "evol_unanswerable"
    turns = metas[1]["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["content"] == "Draft a clause on the term."
    assert turns[2]["content"].startswith("Could you shorten it")
    assert "turns" not in metas[2] and metas[2]["followup_error"] == "truncated"


@pytest.mark.parametrize("mode", ["text", "json_object"])
def test_repair_shows_the_error_once_and_records_it(tmp_path: Path, mode: str) -> None:
    good = (json.dumps({"instructions": ["Draft a clause for a port authority."]})
            if mode != "text" else "1. Draft a clause for a port authority.")

    def answer(body: dict[str, Any], n: int) -> Reply:
        return Reply("no idea" if len(body["messages"]) == 2 else good)

    df, server = _expand(tiny_seed(), answer, tmp_path, missing=1, mode=mode)
    assert len(server.requests) == 2
    meta = _metas(df)[0]
    assert meta["parse"] == "repaired" and meta["repair"]["ok"] is True
    assert df["instruction"].tolist() == ["Draft a clause for a port authority."]
    if mode == "text":
        check_golden("repair_text", prompts_of(server))
