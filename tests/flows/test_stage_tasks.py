"""The flow maps each stage function to its Prefect task by the function itself."""

from __future__ import annotations

import asyncio

import pytest

from datagen.config import RunConfig
from datagen.run import stages
from flows.generate_dataset import TASKS, PrefectFanout


def test_every_stage_has_its_task_keyed_by_the_function() -> None:
    assert set(TASKS) == set(stages.STAGES)
    assert all(t.fn is stage for stage, t in TASKS.items())
    names = [t.name for t in TASKS.values()]
    assert len(set(names)) == len(names)


def test_the_prefect_fanout_refuses_a_stage_name(tmp_path) -> None:
    fanout = PrefectFanout(RunConfig(out=str(tmp_path / "run")))
    with pytest.raises(TypeError, match="not a stage"):
        asyncio.run(fanout.call("curate"))  # type: ignore[arg-type]
