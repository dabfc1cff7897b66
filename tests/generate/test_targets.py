"""The target loop: over-produce, curate, repeat until N kept, the attempt limit, or a stall;
a weak model (only duplicates, or nothing parseable) must not be asked forever."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.config import GenerationConfig, RunConfig
from datagen.generate import plan_expansion, seed_state
from datagen.records import new_records
from tests.generate.helpers import tiny_seed
from tests.runs import flow_summary
from tests.scripted_server import Reply, ScriptedServer

ANSWER = ("The Recipient shall keep the Confidential Information secret and use it only for "
          "the agreed purpose, for three years after disclosure.")


def _run(tmp_path: Path, server: ScriptedServer, **generation: Any) -> dict[str, Any]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(json.dumps(tiny_seed(pairs=5).model_dump(mode="json", exclude_none=True)))
    config = RunConfig.model_validate({
        "seeds": [str(seed)], "out": str(tmp_path / "run"),
        "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0},
        "generation": {"max_rounds": 20, **generation},
    })
    summary = flow_summary(config)
    assert summary["outcome"] in ("complete", "short", "empty")  # a stop, never a crash
    return json.loads((tmp_path / "run" / "manifest.json").read_text())


def _expand_calls(server: ScriptedServer) -> int:
    return sum(1 for r in server.requests if "numbered list" in r["messages"][-1]["content"])


def test_stops_on_a_model_that_returns_only_duplicates(prefect_harness, tmp_path: Path) -> None:
    def same(body: dict[str, Any], n: int) -> Reply:
        if "numbered list" in body["messages"][-1]["content"]:
            return Reply("1. Draft an NDA clause on permitted use by a software reseller.\n"
                         "2. Draft an NDA clause on permitted use by a software reseller.\n"
                         "3. Draft an NDA clause on the permitted use by a software reseller.")
        return Reply(ANSWER)

    with ScriptedServer(same) as server:
        manifest = _run(tmp_path, server)
        calls = _expand_calls(server)
    gen = manifest["generation"]["tiny-nda"]
    assert gen["stop"] == "stalled"
    assert gen["kept"] == 1 and gen["shortfall"] == 4
    # rounds 1-4 kept nothing new (patience 2) and made 24 instructions (a stall needs 20):
    # the seed stops, 15 rounds unused
    assert gen["rounds"] == 5
    assert calls == 10  # 2 calls a round (ceil(5 x 1.5 / 5), then ceil(4 x 1.5 / 5))
    assert manifest["per_seed"]["tiny-nda"]["shortfall"] == 4
    assert manifest["diversity"]["per_seed"]["tiny-nda"]["near_dup_drop_share"] > 0.8


def test_stops_on_a_model_that_returns_nothing_parseable(prefect_harness,
                                                         tmp_path: Path) -> None:
    with ScriptedServer(lambda body, n: Reply("Sure! Here you go.")) as server:
        manifest = _run(tmp_path, server)
        requests = server.requests
    gen = manifest["generation"]["tiny-nda"]
    assert gen["stop"] == "parse_failed" and gen["kept"] == 0 and gen["shortfall"] == 5
    assert gen["rounds"] == 2  # two rounds in a row kept nothing (patience 2)
    assert gen["parse"] == {"failed": 4}
    # each call was asked once more, with the parse error shown to the model: 2 x 2 x 2
    assert len(requests) == 8
    repairs = [r for r in requests if len(r["messages"]) == 4]
    assert len(repairs) == 4
    assert repairs[0]["messages"][2] == {"role": "assistant", "content": "Sure! Here you go."}
    assert "no numbered list" in repairs[0]["messages"][3]["content"]
    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    assert set(records["drop_reason"]) == {"unparseable"}
    assert json.loads(records["metadata"].iloc[0])["repair"]["ok"] is False


def test_attempt_limit_cuts_every_strategy_alike() -> None:
    seed = tiny_seed(strategies=["plain", "bootstrap", "evolve"])
    gen = GenerationConfig(max_calls_per_seed=4)
    work = plan_expansion(seed, new_records([]), 20, gen)
    assert [c.strategy for c in work.calls] == ["plain", "bootstrap", "evolve", "plain"]
    assert [c.sample for c in work.calls] == [0, 1, 2, 3]
    rows = [{"id": f"r{c.sample}", "seed_id": seed.id, "instruction": f"x {c.sample}",
             "response": "y", "keep": True,
             "metadata": {"stage": "expand", "sample": c.sample, "round": 0}}
            for c in work.calls]
    state = seed_state(seed, new_records(rows), 20, gen)
    assert state["stop"] == "attempt_limit" and state["missing"] == 16
    assert len(plan_expansion(seed, new_records(rows), 16, gen)) == 0
