"""How a run's stages are executed: the one thing the Prefect flow changes.

The orchestrator (`datagen.run.run`) decides *what* to run; a fan-out decides *how*. It gets
a stage name from `datagen.run.stages.STAGES` and arguments: `map` runs many calls of one
stage concurrently (expand per seed, respond and judge per batch), `call` runs one (curate,
split, export, publish, push). `LocalFanout` runs them on the current event loop, with no
Prefect: the library path. `flows.generate_dataset.PrefectFanout` submits each as a Prefect
task to the flow's task runner (threads, or a Dask cluster), with retries on the writers and
persisted results for resume. Both run the same functions, so they write the same dataset.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Protocol

from datagen.run.stages import STAGES


class Fanout(Protocol):
    async def map(self, stage: str, calls: list[tuple[Any, ...]]) -> list[Any]: ...

    async def call(self, stage: str, *args: Any) -> Any: ...


async def invoke(stage: str, args: tuple[Any, ...]) -> Any:
    fn = STAGES[stage]
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return fn(*args)


class LocalFanout:
    """Every stage as a plain call on this event loop."""

    async def map(self, stage: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        return list(await asyncio.gather(*(invoke(stage, c) for c in calls)))

    async def call(self, stage: str, *args: Any) -> Any:
        return await invoke(stage, args)
