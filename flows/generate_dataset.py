"""The `generate_dataset` flow: expand -> respond -> curate (in rounds until each seed's target
is met) -> split -> export.

Tasks are per seed (expand) or per batch of up to 200 requests (respond), never per record.
LLM tasks have no Prefect retries: the client decides retries in one place, and every answer
is in the run folder's response cache, so rerunning a failed or killed flow run with the same
parameters repeats no completed call.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from datagen import pipeline
from datagen.config import RunConfig
from datagen.llm.endpoint import Endpoint, open_endpoint
from datagen.records import kept, new_records
from datagen.runfolder import write_parquet
from datagen.seeds import SeedTask


@task(name="plan", cache_policy=NO_CACHE)
def plan_task(config: RunConfig) -> pipeline.RunPlan:
    return pipeline.plan_run(config)


@task(name="expand", cache_policy=NO_CACHE, task_run_name="expand-{seed.id}-r{round_no}")
async def expand_task(plan: pipeline.RunPlan, seed: SeedTask, endpoint: Endpoint,
                      samples: range, round_no: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    return await pipeline.expand_stage(plan, seed, endpoint, samples, round_no)


@task(name="respond", cache_policy=NO_CACHE)
async def respond_task(plan: pipeline.RunPlan, batch: pd.DataFrame,
                       endpoint: Endpoint) -> tuple[pd.DataFrame, dict[str, Any]]:
    return await pipeline.respond_stage(plan, batch, endpoint)


@task(name="curate", cache_policy=NO_CACHE)
def curate_task(plan: pipeline.RunPlan, records: pd.DataFrame) -> pd.DataFrame:
    return pipeline.curate_stage(plan, records)


@task(name="split", cache_policy=NO_CACHE)
def split_task(plan: pipeline.RunPlan, records: pd.DataFrame) -> tuple[pd.Series, dict]:
    return pipeline.split_stage(plan, records)


@task(name="export", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def export_task(plan: pipeline.RunPlan, records: pd.DataFrame, labels: pd.Series,
                split_info: dict, endpoint: Endpoint, usage: dict, timings: dict,
                stage_counts: dict) -> dict[str, Any]:
    return pipeline.export_stage(plan, records, labels, split_info, endpoint, usage, timings,
                                 stage_counts)


def run_name() -> str:
    """`<seed files> · <date>`, so runs are recognisable in the Prefect UI."""
    config = flow_run.parameters.get("config")
    seeds = config.get("seeds", []) if isinstance(config, dict) else getattr(config, "seeds", [])
    names = [str(s).rstrip("/").rsplit("/", 1)[-1].removesuffix(".yaml") for s in seeds]
    label = "+".join(names)[:60] or "seeds"
    return f"{label} {date.today().isoformat()}"


async def generate_rounds(plan: pipeline.RunPlan, endpoint: Endpoint, counts: dict[str, Any],
                          state: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Expand, answer and curate until every seed has its pairs or the rounds run out.
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
        before = sum(missing.values())
        expanded = await asyncio.gather(*(
            expand_task(plan, seeds[sid], endpoint,
                        pipeline.expand_calls(plan, records, sid, n), round_no)
            for sid, n in wanted.items()
        ))
        for df, u in expanded:
            usage = pipeline.add_usage(usage, u)
            counts["expanded"] = counts.get("expanded", 0) + len(df)
        records = pipeline.curate_round(plan, pipeline.concat([records, *(d for d, _ in expanded)]))
        state["records"] = records
        answered = await asyncio.gather(*(
            respond_task(plan, batch, endpoint)
            for batch in pipeline.to_answer(records, missing, plan.config.generation.respond_margin)
        ))
        for df, u in answered:
            usage = pipeline.add_usage(usage, u)
            counts["responded"] = counts.get("responded", 0) + int(df["response"].notna().sum())
        records = pipeline.curate_round(plan, pipeline.merge(records, [d for d, _ in answered]))
        state["records"] = records
        if sum(pipeline.missing_pairs(plan, records).values()) >= before and round_no > 0:
            break  # a round that added nothing: the model is not getting us further
    return records, usage


@flow(name="generate_dataset", flow_run_name=run_name, log_prints=True)
async def generate_dataset(config: RunConfig) -> dict[str, Any]:
    """Seed tasks in, a curated dataset out: OpenAI JSONL, a HF dataset, a manifest."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    plan = plan_task(config)
    counts: dict[str, Any] = {}
    with open_endpoint(config.llm) as endpoint:
        timings["endpoint"] = round(time.perf_counter() - started, 3)
        t = time.perf_counter()
        state = {"records": new_records([])}
        try:
            records, usage = await generate_rounds(plan, endpoint, counts, state)
        except BaseException:
            if not state["records"].empty:  # keep what was made; the cache has every answer
                write_parquet(plan.folder.root / "records.partial.parquet", state["records"])
            raise
        timings["generate"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    records = curate_task(plan, records)
    counts["kept"] = int(len(kept(records)))
    timings["curate"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    labels, split_info = split_task(plan, records)
    timings["split"] = round(time.perf_counter() - t, 3)
    timings["total_before_export"] = round(time.perf_counter() - started, 3)
    manifest = export_task(plan, records, labels, split_info, endpoint, usage, timings, counts)
    (plan.folder.root / "records.partial.parquet").unlink(missing_ok=True)
    return {"out": str(plan.folder.root), "counts": manifest["counts"],
            "per_seed": manifest["per_seed"]}
