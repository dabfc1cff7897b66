"""How a run's stages are executed: the one thing the Prefect flow changes.

The orchestrator (`datagen.run.run`) decides *what* to run; a fan-out decides *how*. It gets
a stage name from `datagen.run.stages.STAGES` and arguments: `map` runs many calls of one
stage concurrently (expand per seed, respond and judge per batch), `call` runs one (screen,
settle, curate, split, export, publish, push). `LocalFanout` runs them on the current event
loop, with no Prefect: the library path. `flows.generate_dataset.PrefectFanout` submits each
as a Prefect task to the flow's task runner (threads, or a Dask cluster), with retries on the
writers and persisted results for resume. Both run the same functions, so they write the
same dataset.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from datagen.curate.pool import can_fork, forked_pool
from datagen.run.stages import STAGES

# The curation between rounds (CPU-bound) of a large run runs in a worker process, one call
# at a time, so the event loop keeps its requests going on its own core: on a thread it
# waited on the GIL behind the loop (a 200-row screen took 1-2 s there, 0.12 s alone).
OFF_LOOP = frozenset({"screen", "settle"})
PROCESS_MIN_PAIRS = 1000  # smaller runs curate on the loop


@functools.cache
def _curation_worker() -> ProcessPoolExecutor:
    """Forked, not spawned: a spawned worker re-runs the user's script (one without a
    `__main__` guard runs again) and imports everything anew (~2 s)."""
    return forked_pool(1)


def in_worker(stage: str, args: tuple[Any, ...]) -> bool:
    """Whether this call of `stage` goes to the curation worker (args[0]: the run's plan)."""
    return (stage in OFF_LOOP and can_fork()
            and sum(args[0].targets.values()) >= PROCESS_MIN_PAIRS)


class Fanout(Protocol):
    async def map(self, stage: str, calls: list[tuple[Any, ...]]) -> list[Any]: ...

    async def call(self, stage: str, *args: Any) -> Any: ...


async def invoke(stage: str, args: tuple[Any, ...]) -> Any:
    fn = STAGES[stage]
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    if in_worker(stage, args):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_curation_worker(), functools.partial(fn, *args))
        except BrokenProcessPool:  # the worker died (out of memory, say): curate here
            _curation_worker.cache_clear()
    return fn(*args)


class LocalFanout:
    """Every stage as a plain call on this event loop."""

    async def map(self, stage: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        return list(await asyncio.gather(*(invoke(stage, c) for c in calls)))

    async def call(self, stage: str, *args: Any) -> Any:
        return await invoke(stage, args)
