"""How a run's stages are executed: the one thing the Prefect flow changes.

The orchestrator (`datagen.run.run`) decides *what* to run; a fan-out decides *how*. It is
handed a stage function of `datagen.run.stages` itself, never a name: `call(stage, *args,
**kwargs)` runs one call (curate, split, export, ...), typed by the stage's own signature;
`map(calls)` runs many calls of a stage concurrently, each a `functools.partial` of the stage
with its arguments (expand per seed, respond and judge per batch). `LocalFanout` runs them on
the current event loop, with no Prefect: the library path. `flows.generate_dataset.PrefectFanout`
runs each as the stage's Prefect task on the flow's task runner (threads, or a Dask cluster),
with retries on the writers and persisted results for resume. Both run the same functions, so
they write the same dataset.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from datagen.curate.pool import can_fork, forked_pool
from datagen.run.plan import RunPlan
from datagen.run.stages import check_each_stage, compare_records_stage

P = ParamSpec("P")
R = TypeVar("R")

# The curation between rounds is CPU-bound: in a large run it goes to a worker process, one
# call at a time, so the event loop keeps its requests going on its own core (on a thread it
# would wait on the GIL behind the loop).
OFF_LOOP: frozenset[Callable[..., Any]] = frozenset({check_each_stage, compare_records_stage})
PROCESS_MIN_PAIRS = 1000  # smaller runs curate on the loop


@functools.cache
def _curation_worker() -> ProcessPoolExecutor:
    """Forked, not spawned: a spawned worker re-runs the user's script (one without a
    `__main__` guard runs again) and imports everything anew."""
    return forked_pool(1)


def plan_of(stage: Callable[..., Any], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> RunPlan | None:
    """The run's plan among a stage call's arguments (its `plan` parameter), if it has one."""
    try:
        plan = inspect.signature(stage).bind_partial(*args, **kwargs).arguments.get("plan")
    except TypeError:
        return None
    return plan if isinstance(plan, RunPlan) else None


def in_worker(stage: Callable[..., Any], plan: RunPlan | None) -> bool:
    """Whether this call of `stage` goes to the curation worker: the between-rounds checks of
    a run large enough to pay for the process hop."""
    return (stage in OFF_LOOP and plan is not None and can_fork()
            and sum(plan.targets.values()) >= PROCESS_MIN_PAIRS)


class Fanout(Protocol):
    """Where stage calls run. `stage` is the function of `datagen.run.stages` itself."""

    @overload
    async def call(self, stage: Callable[P, Awaitable[R]], /,
                   *args: P.args, **kwargs: P.kwargs) -> R: ...

    @overload
    async def call(self, stage: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...

    async def call(self, stage: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...

    async def map(self, calls: Sequence[partial[Coroutine[Any, Any, R]]]) -> list[R]: ...


def check_stage(stage: object) -> Callable[..., Any]:
    """`stage` if it is a stage function; a TypeError for anything else (a name, say)."""
    if not callable(stage):
        raise TypeError(f"a fan-out runs stage functions, not {stage!r}")
    return stage


async def invoke(stage: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
    fn = check_stage(stage)
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    if in_worker(fn, plan_of(fn, args, kwargs)):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_curation_worker(),
                                              functools.partial(fn, *args, **kwargs))
        except BrokenProcessPool:  # the worker died (out of memory, say): curate here
            _curation_worker.cache_clear()
    return fn(*args, **kwargs)


class LocalFanout:
    """Every stage as a plain call on this event loop."""

    async def call(self, stage: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return await invoke(stage, args, kwargs)

    async def map(self, calls: Sequence[partial[Any]]) -> list[Any]:
        return list(await asyncio.gather(*(invoke(c.func, c.args, c.keywords)
                                           for c in calls)))
