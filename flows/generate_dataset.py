"""The `generate_dataset` flow: `datagen.run.run` with Prefect as its fan-out, plus artifacts.

Every stage function of `datagen.run.stages` becomes a Prefect task (one line each in `TASKS`,
keyed by the function itself); the orchestrator hands `PrefectFanout` a stage function and
its arguments, and the fan-out submits that stage's task to the flow's task runner: on the
flow's event loop (threads, the default) or a Dask cluster. That is why the stages run in a
subflow: a flow's task runner is fixed when it starts, and the parent has to read the config
first.

Resume: every LLM answer is in the run folder's response cache, and stage results are
persisted (compressed) in `<run folder>/stages/` under a key of their inputs and source, so a
failed or killed flow run rerun with the same parameters repeats no completed call and no
completed stage (`compare_records`, which calls no model, is recomputed). LLM tasks have no Prefect
retries (the client decides retries in one place); only the writers (export, publish, push,
artifacts) retry.

The final state follows the run's outcome (`datagen.run.result`): Completed when every seed
met its target, Failed (with the outcome's message) when the budget stopped it, calls failed,
nothing was kept or a seed fell short, unless the config allows it (`allow_empty`,
`allow_short`). The result is the run's summary: the state's data when Completed, the
`RunIncomplete` error's `summary` when Failed.
"""

# No `from __future__ import annotations`: a served deployment loads this file by path, and
# Prefect cannot resolve a string annotation (`config: "RunConfig"`) to build the parameter
# model, so every triggered run would fail parameter validation.

import asyncio
import inspect
import signal
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from datagen.config import RunConfig
from datagen.errors import DatagenError
from datagen.run import RunResult, run
from datagen.run.result import RunIncomplete
from datagen.run.stages import (
    check_each_stage,
    compare_records_stage,
    curate_stage,
    expand_stage,
    export_stage,
    judge_stage,
    publish_stage,
    push_stage,
    respond_stage,
    split_stage,
)
from flows import artifacts, caching, logs, run_options


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry the Hub on network trouble, not on our own errors (no token, bad folder)."""
    return not isinstance(state.result(raise_on_failure=False), DatagenError)


logs.no_tracebacks_for_expected_errors()
# Stage results are pickled compressed: records are mostly text, and the answers are in the
# response cache too, so uncompressed stage results would dwarf the cache.
CACHED = {"cache_policy": caching.STAGE_CACHE, "persist_result": True,
          "result_serializer": "compressed/pickle"}
# `compare_records` takes every record so far and returns them with the verdicts of the checks
# that compare records: persisted, each round would store the whole run again (O(rounds x
# records)). It calls no model, so a resume recomputes it from the persisted rounds at no cost.
UNSTORED = {"cache_policy": NO_CACHE, "persist_result": False}
WRITER = {"cache_policy": NO_CACHE, "retries": 2, "retry_delay_seconds": 2}
TASKS: dict[Callable[..., Any], Any] = {
    expand_stage: task(expand_stage, name="expand",
                       task_run_name="expand-{seed.id}-r{round_no}", **CACHED),
    respond_stage: task(respond_stage, name="respond", **CACHED),
    judge_stage: task(judge_stage, name="judge", **CACHED),
    check_each_stage: task(check_each_stage, name="check_each", **CACHED),
    compare_records_stage: task(compare_records_stage, name="compare_records", **UNSTORED),
    curate_stage: task(curate_stage, name="curate", **CACHED),
    split_stage: task(split_stage, name="split", **CACHED),
    export_stage: task(export_stage, name="export", **WRITER),
    publish_stage: task(publish_stage, name="publish", **WRITER),
    push_stage: task(push_stage, name="push", **{**WRITER, "retry_delay_seconds": 10},
                     retry_condition_fn=_transient),
}
artifacts_task = task(artifacts.publish_artifacts, name="artifacts", **WRITER)


class PrefectFanout:
    """Each stage call becomes a run of that stage's task. With threads, async tasks run
    concurrently on the flow's own event loop (a thread and an event loop per task would add
    their start-up to every call: see bench/RESULTS.md, "The run's fan-out"); with Dask they
    are submitted to the cluster."""

    def __init__(self, config: RunConfig) -> None:
        storage = caching.stage_storage(config.out)
        self.tasks = {stage: t.with_options(result_storage=storage) if t.persist_result else t
                      for stage, t in TASKS.items()}  # the CACHED ones keep their results
        self.on_loop = config.orchestration.task_runner == "threads"

    def task_of(self, stage: Callable[..., Any]) -> Any:
        try:
            return self.tasks[stage]
        except (KeyError, TypeError):
            raise TypeError(f"{stage!r} is not a stage of datagen.run.stages") from None

    async def map(self, calls: Sequence[partial[Any]]) -> list[Any]:
        tasks = [(self.task_of(c.func), c) for c in calls]
        if self.on_loop and all(inspect.iscoroutinefunction(t.fn) for t, _ in tasks):
            return list(await asyncio.gather(*(t(*c.args, **c.keywords) for t, c in tasks)))
        futures = [t.submit(*c.args, **c.keywords) for t, c in tasks]
        # waited for off the loop, so the flow's other stage calls go on meanwhile
        return list(await asyncio.gather(*(asyncio.to_thread(f.result) for f in futures)))

    async def call(self, stage: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        t = self.task_of(stage)
        if self.on_loop:
            if inspect.iscoroutinefunction(t.fn):
                return await t(*args, **kwargs)
            return t(*args, **kwargs)
        return await asyncio.to_thread(t.submit(*args, **kwargs).result)


# The SIGTERM handler `run_here` found (the CLI's: cancel calls, raise KeyboardInterrupt).
_CLI_SIGTERM: list[Any] = []


def _keep_cli_sigterm() -> None:
    """Each flow engine swaps in Prefect's SIGTERM handler, which raises TerminationSignal;
    when that lands inside an event-loop callback or a request task, asyncio swallows it and
    the run carries on to the end. Under `datagen run` the CLI's handler is put back, so a
    SIGTERM stops the run exactly like Ctrl-C. Deployed runs keep Prefect's handler (the
    runner's cancellation depends on it)."""
    if _CLI_SIGTERM and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _CLI_SIGTERM[-1])


@flow(name="dataset_stages", log_prints=True)
async def dataset_stages(config: RunConfig) -> RunResult:
    """The run itself, on the task runner the config asks for."""
    _keep_cli_sigterm()
    return await run(config, PrefectFanout(config))


def run_name() -> str:
    return run_options.run_name(flow_run.parameters)


@flow(name="generate_dataset", flow_run_name=run_name, log_prints=True)
async def generate_dataset(
    config: RunConfig | None = None,
    config_file: str | None = None,
    seeds: list[str] | None = None,
    pairs: int | None = None,
    out: str | None = None,
    append_to: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Any:
    """Seed tasks in, a curated dataset out: OpenAI JSONL, a HF dataset, a manifest, artifacts.
    With `append_to`, the new pairs are also appended to that published dataset.

    Args:
        config: The whole run config (a deployment's form, pre-filled).
        config_file: A run config YAML instead; its relative paths are relative to it.
        seeds: Seed files or folders, replacing the config's.
        pairs: Pairs wanted per seed, replacing the config's.
        out: The run folder, replacing the config's.
        append_to: The published dataset folder new pairs are appended to.
        overrides: Run config keys merged over the config, section by section, e.g.
            {"llm": {"model": "gpt-4o-mini"}}.
    """
    _keep_cli_sigterm()
    logs.progress_to_run_logs()
    config = run_options.run_config(config, config_file, overrides, seeds=seeds, pairs=pairs,
                                     out=out, append_to=append_to)
    stages = dataset_stages.with_options(
        task_runner=run_options.task_runner(config.orchestration),
        flow_run_name=f"{run_options.seed_set(config.seeds)} stages")
    result = await stages(config)
    keys = artifacts_task(result.manifest, result.out, published=result.published,
                          dataset=config.append_to, hub_url=result.hub_url,
                          key=run_options.artifact_key(config),
                          links=config.orchestration.links)
    outcome = result.outcome(max_failed_share=config.llm.max_failed_share,
                             allow_empty=config.allow_empty, allow_short=config.allow_short)
    summary = {"result": result, "outcome": outcome.name, "exit_code": outcome.exit_code,
               "message": outcome.message, "hint": outcome.hint, "artifacts": keys,
               "out": result.out, "counts": result.counts, "per_seed": result.per_seed,
               "published": result.published["counts"] if result.published else None,
               "hub_url": result.hub_url, "flow_run_id": str(flow_run.get_id())}
    if outcome.ok:
        return Completed(message=outcome.message, data=summary)
    return Failed(message=f"{outcome.name}: {outcome.message}",
                  data=RunIncomplete(outcome, summary))


def run_here(config: RunConfig) -> Any:
    """The flow run to its final state in this process, for `datagen run`. A SIGTERM is an
    interruption like Ctrl-C and leaves the same way (everything completed is cached)."""
    from prefect.exceptions import TerminationSignal

    on_main = threading.current_thread() is threading.main_thread()
    if on_main:
        _CLI_SIGTERM.append(signal.getsignal(signal.SIGTERM))
    from datagen.llm import interrupt

    try:
        return asyncio.run(generate_dataset(config, return_state=True))
    except TerminationSignal as exc:
        raise KeyboardInterrupt from exc
    except asyncio.CancelledError as exc:
        # the stop cancelled a request the flow's own task was awaiting (or refused a new
        # one), and that cancellation reached the top before the KeyboardInterrupt did
        if interrupt.stopping():
            raise KeyboardInterrupt from exc
        raise
    finally:
        if on_main:
            _CLI_SIGTERM.pop()
