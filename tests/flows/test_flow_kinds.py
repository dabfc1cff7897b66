"""Seeds with tools, an output schema and several turns through the Prefect flow itself: the
flow run completes and its export holds OpenAI function-calling lines whose every call has its
tool reply, and conversations of exactly the seed's turns."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from flows.generate_dataset import generate_dataset
from tests.generate import kinds_world
from tests.generate.test_kinds import (
    SCHEMA_SEED,
    TOOLS_SEED,
    TURNS_SEED,
    openai_tool_line_errors,
)
from tests.scripted_server import ScriptedServer


def _flow_run(make_config: Any, seeds: list[Path], pairs: int) -> tuple[Path, list[dict]]:
    """`generate_dataset` over `seeds` against the kinds world, judge off: the run folder
    and its OpenAI lines."""
    with ScriptedServer(kinds_world.handler) as server:
        config = make_config(seeds=[str(s) for s in seeds], pairs=pairs, allow_short=True,
                             curation={"judge": {"enabled": "off"}},
                             llm={"base_url": server.base_url, "model": "test-model",
                                  "max_retries": 0})
        state = asyncio.run(generate_dataset(config, return_state=True))
    assert state.is_completed(), state.message
    out = Path(config.out)
    return out, [json.loads(x) for f in ("train", "validation")
                 for x in (out / "openai" / f"{f}.jsonl").read_text().splitlines()]


def test_tool_and_schema_seeds_run_as_one_flow(prefect_harness, make_config,
                                               tmp_path: Path) -> None:
    out, lines = _flow_run(make_config, [TOOLS_SEED, SCHEMA_SEED], 10)
    tooled = [line for line in lines if "tools" in line]
    structured = [line for line in lines if "tools" not in line]
    assert len(tooled) == 10 and len(structured) == 10
    assert all(openai_tool_line_errors(line) == [] for line in tooled)
    assert all(isinstance(json.loads(line["messages"][-1]["content"]), dict)
               for line in structured)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shapes"]["kept_calling_tools"] >= 1


def test_a_turns_seed_runs_as_a_flow(prefect_harness, make_config, tmp_path: Path) -> None:
    out, lines = _flow_run(make_config, [TURNS_SEED], 4)
    assert len(lines) == 4
    for line in lines:
        assert [m["role"] for m in line["messages"]] == ["system", *["user", "assistant"] * 3]
        assert all(m["content"].strip() for m in line["messages"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shapes"]["kept_by_turns"] == {"3": 4}
