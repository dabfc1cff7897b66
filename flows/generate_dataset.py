"""The `generate_dataset` flow: expand -> respond -> curate (in rounds until each seed's target
is met) -> split -> export -> (publish to the dataset appended to) -> artifacts.

Tasks are per seed (expand) or per batch of up to 200 requests (respond), never per record.
They are submitted to the task runner the config names (threads, or a Dask cluster), which is
why the stages run as a subflow: a flow's task runner is fixed when the flow starts, and the
parent flow has to read the config first.

Resume: every LLM answer is in the run folder's response cache, and expand/respond/curate/split
results are persisted in `<run folder>/stages/` under a key of their inputs and source, so a
failed or killed flow run rerun with the same parameters repeats no completed call and no
completed stage. LLM tasks have no Prefect retries: the client decides retries in one place.
Only the file and API writers (export, publish, artifacts) retry.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run

from datagen import artifacts, incremental, orchestration, pipeline
from datagen.config import RunConfig
from datagen.curate import mark_surplus
from datagen.llm.endpoint import Endpoint, open_endpoint
from datagen.records import DropReason, kept, new_records
from datagen.runfolder import write_parquet
from datagen.seeds import SeedTask
from datagen.split import leakage_check, realised_ratios

STAGE = {"cache_policy": orchestration.STAGE_CACHE, "persist_result": True}


@task(name="plan", cache_policy=NO_CACHE)
def plan_task(config: RunConfig) -> pipeline.RunPlan:
    return pipeline.plan_run(config)


@task(name="expand", task_run_name="expand-{seed.id}-r{round_no}", **STAGE)
async def expand_task(plan: pipeline.RunPlan, seed: SeedTask, endpoint: Endpoint, model_key: str,
                      samples: range, round_no: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    return await pipeline.expand_stage(plan, seed, endpoint, samples, round_no)


@task(name="respond", **STAGE)
async def respond_task(plan: pipeline.RunPlan, batch: pd.DataFrame, endpoint: Endpoint,
                       model_key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    return await pipeline.respond_stage(plan, batch, endpoint)


def curate_records(plan: pipeline.RunPlan, records: pd.DataFrame,
                   published: pd.DataFrame, *, final: bool) -> pd.DataFrame:
    """A curation round; appending, published duplicates are dropped before the surplus cut."""
    if final and published.empty:
        return pipeline.curate_stage(plan, records)
    out = pipeline.curate_round(plan, records)
    if not published.empty:
        out = incremental.drop_published(out, published,
                                         plan.config.curation.near_duplicate_threshold)
    return mark_surplus(out, plan.targets) if final else out


@task(name="curate", **STAGE)
def curate_task(plan: pipeline.RunPlan, records: pd.DataFrame,
                published: pd.DataFrame) -> pd.DataFrame:
    return curate_records(plan, records, published, final=True)


@task(name="split", **STAGE)
def split_task(plan: pipeline.RunPlan, records: pd.DataFrame,
               published: pd.DataFrame | None) -> tuple[pd.Series, dict]:
    if published is None:
        return pipeline.split_stage(plan, records)
    test = float(getattr(plan.config.split, "test", 0.0) or 0.0)
    labels = incremental.assign_splits(records, published, plan.config.split.validation, test)
    return labels, {"leakage": leakage_check(records, labels),
                    "ratios": realised_ratios(records, labels), "stable": True}


@task(name="export", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def export_task(plan: pipeline.RunPlan, records: pd.DataFrame, labels: pd.Series,
                split_info: dict, endpoint: Endpoint, usage: dict, timings: dict,
                stage_counts: dict) -> dict[str, Any]:
    return pipeline.export_stage(plan, records, labels, split_info, endpoint, usage, timings,
                                 stage_counts)


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def publish_task(config: RunConfig, run_id: str, records: pd.DataFrame,
                 labels: pd.Series) -> dict[str, Any]:
    dups = int((records["drop_reason"] == DropReason.PUBLISHED_DUPLICATE).sum())
    return incremental.publish(config, run_id, records, labels, duplicates=dups,
                               system_message=config.export.system_message)


@task(name="artifacts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def artifacts_task(manifest: dict[str, Any], out: str, published: dict[str, Any] | None,
                   dataset: str | None) -> list[str]:
    return artifacts.publish_artifacts(manifest, out, published=published, dataset=dataset)


def run_name() -> str:
    return orchestration.run_name(flow_run.parameters)


def _results(futures: list[PrefectFuture]) -> list[Any]:
    return [f.result() for f in futures]


async def generate_rounds(plan: pipeline.RunPlan, endpoint: Endpoint, published: pd.DataFrame,
                          counts: dict[str, Any],
                          state: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Expand, answer and curate until every seed has its pairs or the rounds run out.
    `state["records"]` always holds what exists so far, for saving on failure."""
    records, usage = new_records([]), {}
    seeds = {s.id: s for s in plan.seeds}
    storage = orchestration.stage_storage(plan.config.out)
    expand, respond = (t.with_options(result_storage=storage) for t in (expand_task, respond_task))
    model_key = f"{endpoint.identity}|{endpoint.model}"
    counts["rounds"] = 0
    for round_no in range(plan.config.generation.max_rounds):
        missing = pipeline.missing_pairs(plan, records)
        wanted = {sid: n for sid, n in missing.items() if n > 0}
        if not wanted:
            break
        counts["rounds"] += 1
        before = sum(missing.values())
        expanded = _results([
            expand.submit(plan, seeds[sid], endpoint, model_key,
                          pipeline.expand_calls(plan, records, sid, n), round_no)
            for sid, n in wanted.items()
        ])
        for df, u in expanded:
            usage = pipeline.add_usage(usage, u)
            counts["expanded"] = counts.get("expanded", 0) + len(df)
        records = pipeline.concat([records, *(d for d, _ in expanded)])
        records = curate_records(plan, records, published, final=False)
        state["records"] = records
        answered = _results([
            respond.submit(plan, batch, endpoint, model_key)
            for batch in pipeline.to_answer(records, missing, plan.config.generation.respond_margin)
        ])
        for df, u in answered:
            usage = pipeline.add_usage(usage, u)
            counts["responded"] = counts.get("responded", 0) + int(df["response"].notna().sum())
        records = pipeline.merge(records, [d for d, _ in answered])
        records = curate_records(plan, records, published, final=False)
        state["records"] = records
        if sum(pipeline.missing_pairs(plan, records).values()) >= before and round_no > 0:
            break  # a round that added nothing: the model is not getting us further
    return records, usage


@flow(name="dataset_stages", log_prints=True)
async def dataset_stages(config: RunConfig) -> dict[str, Any]:
    """Expand, respond, curate, split and export one run folder."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    plan = plan_task(config)
    storage = orchestration.stage_storage(config.out)
    curate, split = (t.with_options(result_storage=storage) for t in (curate_task, split_task))
    published = (incremental.Published(config.append_to).records() if config.append_to
                 else pd.DataFrame())
    counts: dict[str, Any] = {}
    with open_endpoint(config.llm) as endpoint:
        timings["endpoint"] = round(time.perf_counter() - started, 3)
        t = time.perf_counter()
        state = {"records": new_records([])}
        try:
            records, usage = await generate_rounds(plan, endpoint, published, counts, state)
        except BaseException:
            if not state["records"].empty:  # keep what was made; the cache has every answer
                write_parquet(plan.folder.root / "records.partial.parquet", state["records"])
            raise
        timings["generate"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    records = curate.submit(plan, records, published).result()
    counts["kept"] = int(len(kept(records)))
    timings["curate"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    labels, split_info = split.submit(plan, records,
                                      published if config.append_to else None).result()
    timings["split"] = round(time.perf_counter() - t, 3)
    timings["total_before_export"] = round(time.perf_counter() - started, 3)
    manifest = export_task(plan, records, labels, split_info, endpoint, usage, timings, counts)
    (plan.folder.root / "records.partial.parquet").unlink(missing_ok=True)
    return {"manifest": manifest, "records": records, "labels": labels, "run_id": plan.run_id}


@flow(name="generate_dataset", flow_run_name=run_name, log_prints=True)
async def generate_dataset(config: RunConfig) -> dict[str, Any]:
    """Seed tasks in, a curated dataset out: OpenAI JSONL, a HF dataset, a manifest, artifacts.
    With `append_to`, the new pairs are also appended to that published dataset."""
    config = incremental.prepare(config)
    stages = dataset_stages.with_options(
        task_runner=orchestration.task_runner(config.orchestration),
        flow_run_name=f"{orchestration.seed_set(config.seeds)} stages")
    done = await stages(config)
    manifest = done["manifest"]
    published = None
    if config.append_to:
        published = publish_task(config, done["run_id"], done["records"], done["labels"])
    keys = artifacts_task(manifest, config.out, published, config.append_to)
    return {"out": config.out, "counts": manifest["counts"], "per_seed": manifest["per_seed"],
            "published": published["counts"] if published else None, "artifacts": keys,
            "flow_run_id": str(flow_run.get_id())}
