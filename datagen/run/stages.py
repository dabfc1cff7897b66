"""The stages of a run as plain, typed, picklable functions: the unit a fan-out runs.

Each takes the plan and records (see `datagen.records`) and returns new records or a result;
none holds state between calls, so a fan-out may run one anywhere. The orchestrator
(`datagen.run.run`) hands its fan-out the stage function itself with its arguments
(`fanout.call(curate_stage, plan, records, ...)`), so the pipeline reads, and type-checks,
in one place; the fan-out decides where it runs: on this event loop (`LocalFanout`), or as
the stage's Prefect task on threads or a Dask cluster (`flows/`). LLM stages return
`(records, usage)`; every answer goes through the run folder's response cache first, so a
rerun or a resume repeats no completed call. A call the budget refused is counted in
`usage["by_status"]["budget_refused"]` and left undone, never raised.

Between rounds, curation is split in two so that only what changed is checked again:
`check_each_stage` runs the checks that look at one record at a time on the new or changed
records, and `compare_records_stage` runs the checks that compare records (dedup, the
published set) over all of them. Together they give the verdicts `curate_stage` gives from
scratch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from datagen.config.run import STRATEGY_ROLES
from datagen.curate import curate
from datagen.curate.distributed import curate_through_files
from datagen.curate.partitioned import cluster_client, on_cluster
from datagen.curate.runner import LOCAL, SCORED, curate_rest
from datagen.export import append
from datagen.export.hub import push_run
from datagen.export.split import (
    assign,
    check_pairs,
    check_shares,
    leakage_check,
    realised_ratios,
)
from datagen.export.split_cluster import cluster_finder
from datagen.files import locked
from datagen.generate import ExpandWork, expand, follow_up, respond, structured_mode
from datagen.generate.structured import dialect
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.llm.judge import judge_records, response_format
from datagen.memory import memory_handed_back
from datagen.progress import StageProgress
from datagen.records import kept
from datagen.run.folder import RunFolder
from datagen.run.manifest import write_generation
from datagen.run.plan import RunPlan
from datagen.seeds import SeedTask

EMBEDDED_CONCURRENCY = 2  # llama.cpp answers one request at a time: queue one, run one
Result = tuple[pd.DataFrame, dict[str, Any]]


def client_for(plan: RunPlan, endpoint: Endpoint, role: str) -> LLMClient:
    """A client for `role` on its endpoint, with the limits of the model the role names."""
    llm = plan.config.llm_for(role)
    concurrency = llm.max_concurrency
    if endpoint.kind == "embedded":
        concurrency = min(concurrency, EMBEDDED_CONCURRENCY)
    return LLMClient.for_run(endpoint, ResponseCache(plan.folder.cache), llm,
                             max_concurrency=concurrency)


def role_stats(role: str, client: LLMClient) -> Callable[[], str]:
    """A progress row's live totals, naming the model the role calls (the row is the
    role's: its requests, tokens and dollars)."""
    model = client.endpoint.model
    return lambda: f"{client.status()}, {role} model {model}"


async def expand_stage(plan: RunPlan, seed: SeedTask, endpoint: Endpoint, work: ExpandWork,
                       round_no: int, strategies: dict[str, Endpoint] | None = None) -> Result:
    """New instructions of one seed for one round. The calls of its `topics`, `personas` and
    `evolve` strategies go to those roles' endpoints in `strategies` (default: `endpoint`),
    each role with its own client; their usage is under `by_role` (see `rounds.account`)."""
    client = client_for(plan, endpoint, "expand")
    mode = structured_mode(plan.config.llm_for("expand"), endpoint.kind)
    used = {c.strategy for c in work.calls} & set(STRATEGY_ROLES)
    helpers: dict[str, tuple[LLMClient, str]] = {}
    try:
        for role in sorted(used):
            at = (strategies or {}).get(role, endpoint)
            helpers[role] = (client_for(plan, at, role),
                             structured_mode(plan.config.llm_for(role), at.kind))
        with StageProgress(f"expand {seed.id}", len(work),
                           stats=role_stats("expand", client)) as tick:
            df = await expand(seed, client, plan.config.generation, mode=mode, samples=work,
                              run_id=plan.run_id, rng_seed=plan.config.seed, round_no=round_no,
                              progress=tick, folder=plan.folder.root,
                              units=plan.units.get(seed.id), strategy_clients=helpers)
    finally:
        await client.aclose()
        for helper, _ in helpers.values():
            await helper.aclose()
    by_role = {role: helper.usage.as_dict() for role, (helper, _) in helpers.items()}
    return df, {**client.usage.as_dict(), **({"by_role": by_role} if by_role else {})}


async def respond_stage(plan: RunPlan, batch: pd.DataFrame, endpoint: Endpoint,
                        follow: Endpoint | None = None) -> Result:
    """Answers for a batch of kept instructions, and follow-up turns for multi-turn seeds on
    the `follow_up` role's endpoint `follow` (default: `endpoint`). The usage is the answers';
    the follow-up calls' own is under `by_role` (see `rounds.account`)."""
    client = client_for(plan, endpoint, "respond")
    usage: dict[str, Any] = {}
    try:
        todo = int((batch["keep"].fillna(False).astype(bool) & batch["response"].isna()).sum())
        with StageProgress("respond", todo, stats=role_stats("respond", client)) as tick:
            df = await respond(batch, client, plan.config.generation, progress=tick,
                               sources=plan.sources, seeds={s.id: s for s in plan.seeds},
                               mode=dialect(plan.config.llm_for("respond").structured,
                                            endpoint.kind))
        if any(s.user_turns > 1 for s in plan.seeds):
            second = client_for(plan, follow or endpoint, "follow_up")
            try:
                df = await follow_up(df, second, plan.config.generation,
                                     {s.id: s for s in plan.seeds}, sources=plan.sources)
            finally:
                await second.aclose()
                usage = {"by_role": {"follow_up": second.usage.as_dict()}}
    finally:
        await client.aclose()
    return df, {**client.usage.as_dict(), **usage}


async def judge_stage(plan: RunPlan, batch: pd.DataFrame, endpoint: Endpoint) -> Result:
    """LLM-as-judge scores for a batch of answered pairs (stored in `scores`; the `judge`
    check applies the threshold)."""
    client = client_for(plan, endpoint, "judge")
    fmt = response_format(plan.config.llm_for("judge").structured, endpoint.kind)
    try:
        with StageProgress("judge", len(batch), stats=role_stats("judge", client)) as tick:
            df = await judge_records(batch, client, plan.config.curation.judge,
                                     response_fmt=fmt, progress=tick,
                                     sources={k: u.text for k, u in plan.sources.items()})
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


def curate_stage(plan: RunPlan, records: pd.DataFrame, published: pd.DataFrame | None,
                 final: bool) -> pd.DataFrame:
    """Every verdict from scratch; `final` adds the surplus cut over each seed's target. On a
    Dask worker, a large pass is curated by the cluster, partition by partition, from a
    Parquet file in the run folder (`datagen.curate.distributed`)."""
    cfg, refs = plan.config.curation, plan.references(published)
    targets, seed = plan.targets if final else None, plan.config.seed
    with cluster_client(len(records)) as client, memory_handed_back():
        if client is not None:
            return curate_through_files(records, cfg, client, plan.folder.root / ".curating",
                                        refs=refs, targets=targets, seed=seed)
        return curate(records, cfg, refs=refs, targets=targets, seed=seed)


def check_each_stage(plan: RunPlan, records: pd.DataFrame,
                     rescore: bool = False) -> pd.DataFrame:
    """The record-local checks (`runner.LOCAL`) on some records: between rounds only the
    records that are new or changed are checked, as their verdicts depend on nothing else.
    `rescore`: records checked already and judged since, so only the checks that read
    scores (`runner.SCORED`) run again."""
    cfg, refs, seed = plan.config.curation, plan.references(None), plan.config.seed
    if rescore:
        return curate_rest(records, cfg, refs=refs, seed=seed, checks=SCORED)
    with on_cluster(len(records)) as spread:
        return curate(records, cfg, refs=refs, seed=seed, checks=LOCAL, **spread)


def compare_records_stage(plan: RunPlan, checked: pd.DataFrame,
                          published: pd.DataFrame | None) -> pd.DataFrame:
    """The checks that compare records (dedup, the published set) over every record, each
    with its record-local verdicts (`check_each_stage`) already: together, exactly what
    `curate_stage` gives mid-run."""
    with memory_handed_back():
        return curate_rest(checked, plan.config.curation, refs=plan.references(published),
                           seed=plan.config.seed)


def split_stage(plan: RunPlan, records: pd.DataFrame,
                published: pd.DataFrame | None) -> tuple[pd.Series, dict[str, Any]]:
    """Train/validation(/test) labels of the kept records, and the split check. On a Dask
    worker, the near-duplicates of a large split are looked for by the cluster, partition by
    partition (`datagen.export.split_cluster`), with the labels of one process."""
    cfg = plan.config.split
    if published is not None:  # appending: published records never change split
        labels = append.assign_splits(records, published, cfg.validation, cfg.test,
                                      cfg.group_threshold, cfg.min_validation)
        extra: dict[str, Any] = {"stable": True}
        near, leak = None, None
    else:
        live = len(kept(records[["keep"]]))
        with cluster_client(live) as client, memory_handed_back(), \
                cluster_finder(records, client, plan.folder.root / ".splitting") as finder:
            done = assign(records, cfg.validation, cfg.test, seed=plan.config.seed,
                          threshold=cfg.group_threshold, min_validation=cfg.min_validation,
                          finder=finder)
            near = check_pairs(records, done.labels, cfg.leakage_threshold, done.group,
                               finder)
        leak = leakage_check(records, done.labels, cfg.leakage_threshold, near)
        if leak["crossing_pairs"]:
            # pairs the grouping's draw missed and the check's found: they join groups too
            leak = None  # the split is drawn again: checked again below
            done = assign(records, cfg.validation, cfg.test, seed=plan.config.seed,
                          threshold=cfg.group_threshold, min_validation=cfg.min_validation,
                          joined=near.ids, known=done.group)
        labels = done.labels
        extra = {"shares": check_shares(records, done, cfg.validation, cfg.test,
                                        tolerance=cfg.tolerance,
                                        min_validation=cfg.min_validation,
                                        threshold=cfg.group_threshold)}
        extra["warning"] = extra["shares"]["warning"]
    if leak is None:
        leak = leakage_check(records, labels, cfg.leakage_threshold, near)
    return labels, {"leakage": leak,
                    "ratios": realised_ratios(records, labels), **extra}


def export_stage(plan: RunPlan, records: pd.DataFrame, labels: pd.Series,
                 split_info: dict[str, Any], endpoint: dict[str, str], usage: dict[str, Any],
                 timings: dict[str, float], counts: dict[str, Any]) -> dict[str, Any]:
    """Write one generation of the run folder (records, rejections, OpenAI JSONL, the HF
    folder, the manifest and the report) and make it current; returns the manifest."""
    started = time.perf_counter()
    manifest = write_generation(plan, records, labels, split_info, endpoint, usage, timings,
                                counts)
    plan.folder.partial.unlink(missing_ok=True)
    manifest["timings_s"]["export"] = round(time.perf_counter() - started, 3)
    return manifest


def publish_stage(plan: RunPlan, records: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """Append this run's kept pairs to the dataset folder `append_to`."""
    return append.publish(plan.config, plan.run_id, records, labels,
                          {s.id: s.output_schema for s in plan.seeds
                           if s.output_schema is not None})


def push_stage(out: str, repo_id: str, private: bool, append_to: str | None = None) -> str | None:
    """Upload to the Hub (`datagen push` as a run step); the dataset's URL. A run that appends
    pushes the dataset it grows (every pair published so far), holding that folder's lock so
    no other run publishes into it meanwhile; otherwise its own `hf/`."""
    if append_to:
        dataset = append.Published(append_to)
        with locked(dataset.root, "push"):
            return push_run(dataset.hf, dataset.manifest_path, repo_id, private=private).url
    folder = RunFolder(out)
    return push_run(folder.hf, folder.manifest, repo_id, private=private).url


# Every stage, for a fan-out that wraps each (the Prefect flow has one task per stage).
STAGES: tuple[Callable[..., Any], ...] = (
    expand_stage, respond_stage, judge_stage, check_each_stage, compare_records_stage,
    curate_stage, split_stage, export_stage, publish_stage, push_stage,
)
