"""Flow-test fixtures: the deterministic scripted LLM (`world.py`) and run configs that use it.

Every flow test shares the session's Prefect test harness (one ephemeral server per session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datagen.config import RunConfig
from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.scripted_server import ScriptedServer


@pytest.fixture
def world() -> Iterator[ScriptedServer]:
    with ScriptedServer(handler) as server:
        yield server


@pytest.fixture
def make_config(tmp_path: Path, world: ScriptedServer) -> Callable[..., RunConfig]:
    def make(**overrides: Any) -> RunConfig:
        data: dict[str, Any] = {
            "seeds": [str(NDA_SEED)], "out": str(tmp_path / "run"), "pairs": 8,
            "llm": {"base_url": world.base_url, "model": "test-model", "max_retries": 0},
        }
        data.update(overrides)
        return RunConfig.model_validate(data)

    return make


@pytest.fixture
def api_url(prefect_harness: None) -> str:
    """The session harness's API, for child processes (they then skip their own server)."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


async def stage_states(flow_run_id: str) -> dict[str, str]:
    """Task run name -> state name, over the flow run and its `dataset_stages` subflow."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    async with get_client() as client:
        subflows = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])))
        ids = [flow_run_id, *(str(f.id) for f in subflows)]
        runs = await client.read_task_runs(task_run_filter=TaskRunFilter(
            flow_run_id=TaskRunFilterFlowRunId(any_=ids)))
    return {r.name: r.state.name for r in runs if r.state}
