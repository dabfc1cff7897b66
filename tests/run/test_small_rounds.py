"""A stop needs a sample: a seed is not stopped as stalled by one or two small rounds of
duplicates (3 instructions a round), and a seed that does stop says what its last rounds saw,
in instructions, never "saturated" for a handful. The scripted server speaks the real wire
format; the rounds, curation and outcome are the real ones."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from datagen.config import RunConfig
from datagen.run import run
from tests.flows.world import handler, instruction
from tests.generate.helpers import tiny_seed
from tests.scripted_server import Reply, ScriptedServer

COPIES = ("1. Draft an NDA clause regarding data privacy.\n"  # the seed's own examples
          "2. Write an NDA clause on the return of confidential materials.\n"
          "3. Draft an NDA clause regarding data privacy.")


class Script:
    """Expansion call k answers `lists(k)`; every other call is the world's."""

    def __init__(self, lists: Any) -> None:
        self.lists, self.calls, self.lock = lists, 0, threading.Lock()

    def __call__(self, body: dict[str, Any], n: int) -> Reply:
        if "Write" not in body["messages"][-1]["content"] or \
                "new requests" not in body["messages"][-1]["content"]:
            return handler(body, n)
        with self.lock:
            k, self.calls = self.calls, self.calls + 1
        return Reply(self.lists(k))


def distinct(k: int) -> str:
    return f"1. {instruction(2 * k)}\n2. {instruction(2 * k + 1)}"


def go(tmp_path: Path, script: Script, **generation: Any) -> Any:
    seed = tmp_path / "seed.yaml"
    seed.write_text(json.dumps(tiny_seed(pairs=5).model_dump(mode="json", exclude_none=True)))
    with ScriptedServer(script) as server:
        config = RunConfig.model_validate({
            "seeds": [str(seed)], "out": str(tmp_path / "run"),
            "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0},
            "generation": generation, "curation": {"judge": {"enabled": "off"}},
            "export": {"target_models": []}})
        return asyncio.run(run(config))


def test_one_small_round_of_duplicates_does_not_stop_a_seed(tmp_path: Path) -> None:
    # round 0: 4 distinct instructions (2 calls); rounds 1 and 2: 3 copies of the seed's
    # examples each; then distinct ones again
    result = go(tmp_path, Script(lambda k: COPIES if k in (2, 3) else distinct(k)))
    gen = result.manifest["generation"]["tiny-nda"]
    assert [r["dropped"] for r in gen["by_round"][1:3]] == [{"seed_overlap": 3}] * 2
    assert gen["stop"] == "target_met" and gen["kept"] == 5, gen
    assert result.outcome().name == "complete", result.outcome().message


def test_a_stop_names_what_its_last_rounds_saw(tmp_path: Path) -> None:
    result = go(tmp_path, Script(lambda k: distinct(k) if k < 2 else COPIES))
    gen = result.manifest["generation"]["tiny-nda"]
    outcome = result.outcome()
    assert gen["stop"] == "max_rounds" and gen["kept"] == 4  # 12 copies: too few to stall
    assert outcome.name == "short"
    assert ("tiny-nda 4/5 (max_rounds; 12 new instructions in the last 4 rounds, all "
            "duplicates of the seed's examples)") in outcome.message
    assert "saturated" not in outcome.message + (outcome.hint or "")


def test_a_stall_on_enough_instructions(tmp_path: Path) -> None:
    result = go(tmp_path, Script(lambda k: distinct(k) if k < 2 else COPIES), max_rounds=20)
    gen = result.manifest["generation"]["tiny-nda"]
    outcome = result.outcome()
    assert gen["stop"] == "stalled" and gen["rounds"] == 8  # 7 idle rounds: 21 instructions
    assert ("(stalled; 21 new instructions in the last 7 rounds, all duplicates of the "
            "seed's examples)") in outcome.message
    assert "saturated" not in outcome.message + (outcome.hint or "")
    assert "most of the seed's last instructions were copies" in (outcome.hint or "")
