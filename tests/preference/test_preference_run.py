"""A run with `--preference` against the scripted world (real HTTP, its judge scoring each
answer by its text): several answers per instruction, judged, and preference files that pass
an independent check of OpenAI's DPO line format, `datagen validate`, and a real `datasets`
round trip in TRL's conversational form, with every prompt in the same split as its SFT
example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import judging_handler
from tests.scripted_server import ScriptedServer


def test_flag_and_bad_section_fail_before_any_call(tmp_path: Path) -> None:
    bad = tmp_path / "run.yaml"
    bad.write_text("preference: {candidates: 1}\n", encoding="utf-8")
    with ScriptedServer(judging_handler) as world:
        code, said = cli("run", NDA_SEED, "--out", tmp_path / "run", "--base-url",
                         world.base_url, "--preference", "--config", bad)
    assert code == 2 and "preference.candidates" in said and "Traceback" not in said
    assert world.requests == []


def dpo_line_ok(row: Any) -> bool:
    """OpenAI's preference fine-tuning line, checked here independently of datagen: exactly
    the three keys; `input.messages` of system/user/assistant messages with text, ending with
    a user turn; each output exactly one assistant message with text."""
    if not isinstance(row, dict) or set(row) != {"input", "preferred_output",
                                                 "non_preferred_output"}:
        return False
    msgs = row["input"].get("messages") if isinstance(row["input"], dict) else None
    if not isinstance(msgs, list) or not msgs or msgs[-1].get("role") != "user":
        return False
    if any(set(m) != {"role", "content"} or m["role"] not in ("system", "user", "assistant")
           or not isinstance(m["content"], str) or not m["content"] for m in msgs):
        return False
    return all(isinstance(o, list) and len(o) == 1 and o[0].get("role") == "assistant"
               and set(o[0]) == {"role", "content"} and isinstance(o[0]["content"], str)
               and o[0]["content"].strip()
               for o in (row["preferred_output"], row["non_preferred_output"]))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_candidates_are_asked_and_judged(pref_run: tuple[Path, list]) -> None:
    out, requests = pref_run
    answers = [r for r in requests if r["messages"][0]["content"].startswith("You are a")
               and "strict reviewer" not in r["messages"][0]["content"]
               and "new requests" not in r["messages"][-1]["content"]]
    temperatures = {r.get("temperature") for r in answers}
    assert temperatures == {0.7, 0.95}  # each instruction at its own and a warmer temperature
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["preference"]["pairs"] >= 10
    assert manifest["config"]["preference"]["candidates"] == 2


def test_openai_preference_files(pref_run: tuple[Path, list]) -> None:
    out, _ = pref_run
    sft = {s: {json.dumps(r["messages"][:-1]) for r in lines(out / "openai" / f"{s}.jsonl")}
           for s in ("train", "validation")}
    chosen_sft = {r["messages"][-1]["content"] for s in ("train", "validation")
                  for r in lines(out / "openai" / f"{s}.jsonl")}
    for split in ("train", "validation"):
        rows = lines(out / "openai" / f"preference_{split}.jsonl")
        assert rows and all(dpo_line_ok(r) for r in rows)
        for r in rows:
            assert json.dumps(r["input"]["messages"]) in sft[split]  # the same split as SFT
            assert r["preferred_output"][0]["content"] in chosen_sft  # SFT keeps the chosen
            assert r["preferred_output"] != r["non_preferred_output"]
    code, said = cli("validate", out / "openai" / "preference_train.jsonl")
    assert code == 0, said
    assert "error classes clear" in said


def test_hf_preference_config_round_trip(pref_run: tuple[Path, list]) -> None:
    import datasets

    out, _ = pref_run
    ds = datasets.load_dataset(str(out / "hf"), "preference")
    sft = datasets.load_dataset(str(out / "hf"))
    assert set(ds) == set(sft) == {"train", "validation"}
    for split in ds:
        rows = ds[split].to_list()
        assert len(rows) == len(lines(out / "openai" / f"preference_{split}.jsonl"))
        sft_prompts = {json.dumps(m[:-1]) for m in sft[split]["messages"]}
        for r in rows:
            assert r["chosen"] != r["rejected"]
            assert r["chosen"][0]["role"] == r["rejected"][0]["role"] == "assistant"
            assert r["prompt"][-1]["role"] == "user"
            assert json.dumps(r["prompt"]) in sft_prompts
            assert r["margin"] == r["chosen_score"] - r["rejected_score"] >= 1
            # the rejected answer lost to the judge or to its better sibling, and says so
            assert r["rejected_drop_reason"] in ("judge_low_score", "exact_duplicate")
    assert len(sft["train"]) + len(sft["validation"]) == 24  # the SFT export stays as it is


def test_a_rerun_asks_nothing_again_and_makes_the_same_pairs(tmp_path: Path) -> None:
    import asyncio

    from datagen.config import RunConfig
    from datagen.run import run

    out = tmp_path / "run"
    with ScriptedServer(judging_handler) as world:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "out": str(out), "pairs": 12,
            "preference": {"candidates": 3, "margin": 2},
            "llm": {"base_url": world.base_url, "model": "test-model", "max_retries": 0}})
        asyncio.run(run(cfg))
        first, asked = (out / "openai" / "preference_train.jsonl").read_bytes(), len(world.requests)
        asyncio.run(run(cfg))
        assert len(world.requests) == asked  # every candidate and verdict from the cache
    assert (out / "openai" / "preference_train.jsonl").read_bytes() == first
    rows = lines(out / "openai" / "preference_train.jsonl")
    assert rows and all(dpo_line_ok(r) for r in rows)
    counted = json.loads((out / "manifest.json").read_text())["preference"]
    assert counted["mean_margin"] >= 2
