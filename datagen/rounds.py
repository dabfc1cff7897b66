"""The generation rounds of a run, independent of where the work runs.

Expand, answer and curate until every seed has its pairs or the rounds run out. The loop only
decides *what* to run; a `Fanout` decides *how*: the Prefect flow submits each call as a task
to its task runner (threads or Dask), `plain_fanouts` runs the stage functions on one event
loop (no Prefect), which is also the baseline of `bench/flow_overhead.py`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd

from datagen import incremental, pipeline
from datagen.config import RunConfig
from datagen.curate import mark_surplus
from datagen.errors import BudgetExceeded
from datagen.llm.endpoint import Endpoint
from datagen.records import kept, new_records

# A list of calls in, their (records, usage) results out, in order.
Fanout = Callable[[list[tuple[Any, ...]]], Awaitable[list[tuple[pd.DataFrame, dict[str, Any]]]]]


def curate_records(plan: pipeline.RunPlan, records: pd.DataFrame, published: pd.DataFrame,
                   *, final: bool) -> pd.DataFrame:
    """A curation round; appending, published duplicates are dropped before the surplus cut
    (so a night that finds many of them generates more instead of coming up short)."""
    if final and published.empty:
        return pipeline.curate_stage(plan, records)
    out = pipeline.curate_round(plan, records)
    if not published.empty:
        out = incremental.drop_published(out, published,
                                         plan.config.curation.near_duplicate_threshold)
    return mark_surplus(out, plan.targets) if final else out


async def generate_rounds(plan: pipeline.RunPlan, published: pd.DataFrame, *,
                          expand: Fanout, respond: Fanout, counts: dict[str, Any],
                          state: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`expand` gets (seed, samples, round_no) calls, `respond` gets (batch,) calls.
    `state["records"]` always holds what exists so far, for saving on failure; when the budget
    runs out, generation stops and `state["stopped"]` holds the BudgetExceeded."""
    records, usage = new_records([]), {}
    counts["rounds"] = 0
    for round_no in range(plan.config.generation.max_rounds):
        try:
            records, usage = await _round(plan, published, records, usage, round_no,
                                          expand=expand, respond=respond, counts=counts,
                                          state=state)
        except BudgetExceeded as exc:
            # Stop generating, keep what exists: the run goes on to curate and export it, and
            # every answer paid so far is in the cache for a rerun with a higher cap.
            state["stopped"] = exc
            counts["stopped_on_budget"] = 1
            records, usage = state["records"], state.get("usage", usage)
            break
        if records is None:
            records = state["records"]
            break
    return records, usage


async def _round(plan: pipeline.RunPlan, published: pd.DataFrame, records: pd.DataFrame,
                 usage: dict[str, Any], round_no: int, *, expand: Fanout, respond: Fanout,
                 counts: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """One round; `(None, usage)` when no seed wants more."""
    seeds = {s.id: s for s in plan.seeds}
    missing = pipeline.missing_pairs(plan, records)
    wanted = {sid: n for sid, n in missing.items() if n > 0}
    if not wanted:
        return None, usage
    counts["rounds"] += 1
    # Instructions already generated and kept but not answered yet come first: their
    # expansion is paid for. A seed is expanded only when that backlog is short.
    margin = plan.config.generation.respond_margin
    backlog = pipeline.backlog(records)
    grow = {sid: n for sid, n in wanted.items() if backlog.get(sid, 0) < math.ceil(n * margin)}
    expanded = await expand([(seeds[sid], pipeline.expand_calls(plan, records, sid, n),
                              round_no) for sid, n in grow.items()]) if grow else []
    for df, u in expanded:
        usage = state["usage"] = pipeline.add_usage(usage, u)
        counts["expanded"] = counts.get("expanded", 0) + len(df)
    records = pipeline.concat([records, *(d for d, _ in expanded)])
    records = state["records"] = curate_records(plan, records, published, final=False)
    _stop_if_refused(plan, expanded)
    batches = pipeline.to_answer(records, missing, plan.config.generation.respond_margin)
    answered = await respond([(batch,) for batch in batches])
    for df, u in answered:
        usage = state["usage"] = pipeline.add_usage(usage, u)
        counts["responded"] = counts.get("responded", 0) + int(df["response"].notna().sum())
    records = pipeline.merge(records, [d for d, _ in answered])
    records = state["records"] = curate_records(plan, records, published, final=False)
    _stop_if_refused(plan, answered)
    # A seed whose last `patience` rounds kept nothing stops (`missing_pairs` gives 0), so a
    # weak model is never asked forever; `max_rounds` bounds the rest.
    return records, usage


def _stop_if_refused(plan: pipeline.RunPlan, results: list[tuple[Any, dict[str, Any]]]) -> None:
    """Raise BudgetExceeded once a stage had calls refused by the budget (their stage kept
    what was answered; the refused calls are asked again by a rerun with a higher cap)."""
    refused = sum(u.get("by_status", {}).get("budget_refused", 0) for _, u in results)
    if refused:
        raise BudgetExceeded(
            f"stopped before passing llm.max_cost_usd = ${plan.config.llm.max_cost_usd:.4f}: "
            f"{refused} calls were not made",
            hint="every answer so far is kept in the run folder's cache and what was kept is "
            "exported; raise llm.max_cost_usd (or --max-cost-usd) and rerun the same command to "
            "continue: cached calls are not paid for again",
        )


async def judge_unless_stopped(plan: pipeline.RunPlan, records: pd.DataFrame,
                               endpoint: Endpoint, usage: dict[str, Any],
                               state: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The judge stage, skipped once the budget stopped the run (or when it stops it)."""
    if state.get("stopped") is not None:
        return records, usage
    try:
        records, judged = await pipeline.judge_stage(plan, records, endpoint)
    except BudgetExceeded as exc:
        state["stopped"] = exc
        return records, usage
    return records, pipeline.add_usage(usage, judged) if judged else usage


def plain_fanouts(plan: pipeline.RunPlan, endpoint: Endpoint) -> tuple[Fanout, Fanout]:
    """Expand and respond calls as coroutines on the current event loop: no Prefect."""

    async def expand(calls: list[tuple[Any, ...]]) -> list[Any]:
        return await asyncio.gather(*(pipeline.expand_stage(plan, seed, endpoint, samples, r)
                                      for seed, samples, r in calls))

    async def respond(calls: list[tuple[Any, ...]]) -> list[Any]:
        return await asyncio.gather(*(pipeline.respond_stage(plan, batch, endpoint)
                                      for (batch,) in calls))

    return expand, respond


async def run_plain(config: RunConfig) -> dict[str, Any]:
    """A whole run (no appending) as plain function calls, without Prefect: the library path,
    and the baseline the flow's overhead is measured against."""
    from datagen.llm.endpoint import open_endpoint

    timings: dict[str, float] = {}
    plan = pipeline.plan_run(config)
    counts: dict[str, Any] = {}
    with open_endpoint(config.llm) as endpoint:
        expand, respond = plain_fanouts(plan, endpoint)
        state: dict[str, Any] = {"records": new_records([])}
        records, usage = await generate_rounds(plan, pd.DataFrame(), expand=expand,
                                               respond=respond, counts=counts, state=state)
        records, usage = await judge_unless_stopped(plan, records, endpoint, usage, state)
    records = curate_records(plan, records, pd.DataFrame(), final=True)
    counts["kept"] = int(len(kept(records)))
    labels, split_info = pipeline.split_stage(plan, records)
    return pipeline.export_stage(plan, records, labels, split_info, endpoint, usage, timings,
                                 counts)
