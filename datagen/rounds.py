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
                          state: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`expand` gets (seed, samples, round_no) calls, `respond` gets (batch,) calls.
    `state["records"]` always holds what exists so far, for saving on failure."""
    records, usage = new_records([]), {}
    seeds = {s.id: s for s in plan.seeds}
    counts["rounds"] = 0
    for round_no in range(plan.config.generation.max_rounds):
        missing = pipeline.missing_pairs(plan, records)
        wanted = {sid: n for sid, n in missing.items() if n > 0}
        if not wanted:
            break
        counts["rounds"] += 1
        # Instructions already generated and kept but not answered yet come first: their
        # expansion is paid for. A seed is expanded only when that backlog is short.
        margin = plan.config.generation.respond_margin
        backlog = pipeline.backlog(records)
        grow = {sid: n for sid, n in wanted.items() if backlog.get(sid, 0) < math.ceil(n * margin)}
        expanded = await expand([(seeds[sid], pipeline.expand_calls(plan, records, sid, n),
                                  round_no) for sid, n in grow.items()]) if grow else []
        for df, u in expanded:
            usage = pipeline.add_usage(usage, u)
            counts["expanded"] = counts.get("expanded", 0) + len(df)
        records = pipeline.concat([records, *(d for d, _ in expanded)])
        records = state["records"] = curate_records(plan, records, published, final=False)
        batches = pipeline.to_answer(records, missing, plan.config.generation.respond_margin)
        answered = await respond([(batch,) for batch in batches])
        for df, u in answered:
            usage = pipeline.add_usage(usage, u)
            counts["responded"] = counts.get("responded", 0) + int(df["response"].notna().sum())
        records = pipeline.merge(records, [d for d, _ in answered])
        records = state["records"] = curate_records(plan, records, published, final=False)
        # A seed whose last `patience` rounds kept nothing stops (`missing_pairs` gives 0), so a
        # weak model is never asked forever; `max_rounds` bounds the rest.
    return records, usage


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
        records, usage = await generate_rounds(plan, pd.DataFrame(), expand=expand,
                                               respond=respond, counts=counts,
                                               state={"records": new_records([])})
        records, judged = await pipeline.judge_stage(plan, records, endpoint)
        usage = pipeline.add_usage(usage, judged) if judged else usage
    records = curate_records(plan, records, pd.DataFrame(), final=True)
    counts["kept"] = int(len(kept(records)))
    labels, split_info = pipeline.split_stage(plan, records)
    return pipeline.export_stage(plan, records, labels, split_info, endpoint, usage, timings,
                                 counts)
