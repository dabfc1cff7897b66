"""The stages of a run as plain functions, so the library runs with or without Prefect.

`flows/generate_dataset.py` wraps these as Prefect tasks. Each stage takes and returns records
(see `datagen.records`); everything an LLM produced goes through the response cache in the run
folder first, so a rerun or a resume repeats no completed call.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pandas as pd

from datagen import __version__, ledger
from datagen.config import RunConfig
from datagen.curate import curate
from datagen.diversity import generation_sections
from datagen.export.folder import export_run, raise_on_format_errors
from datagen.filters import judge
from datagen.generate import (
    ExpandWork,
    apply_verdicts,
    expand,
    follow_up,
    plan_expansion,
    respond,
    seed_state,
    structured_mode,
)
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient, Usage
from datagen.llm.endpoint import Endpoint
from datagen.progress import StageProgress
from datagen.records import COLUMNS, new_records, record_id
from datagen.report import funnel, per_seed
from datagen.runfolder import RunFolder, write_json, write_jsonl, write_parquet
from datagen.seeds import SeedTask, load_seeds
from datagen.split import leakage_check, realised_ratios, split

RESPOND_BATCH = 200
EMBEDDED_CONCURRENCY = 2  # llama.cpp answers one request at a time: queue one, run one
PACKAGES = ("datagen", "openai", "datasets", "huggingface-hub", "pandas", "pyarrow",
            "rapidfuzz", "langdetect", "prefect", "pydantic", "llama-cpp-python")


@dataclass
class RunPlan:
    """What a run will do: the resolved config, its seeds and per-seed targets."""

    config: RunConfig
    seeds: list[SeedTask]
    run_id: str
    targets: dict[str, int] = field(default_factory=dict)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.config.out)

    @property
    def seed_examples(self) -> list[str]:
        return [ex.instruction for s in self.seeds for ex in s.examples]


def plan_run(config: RunConfig) -> RunPlan:
    """Load and check the seeds (before any call is paid for) and write the resolved config."""
    seeds = load_seeds(config.seeds)
    targets = {s.id: config.pairs or s.pairs for s in seeds}
    resolved = config.model_dump(mode="json")
    resolved["seed_tasks"] = [s.model_dump(mode="json") for s in seeds]
    run_id = record_id("run", resolved)[:12]
    plan = RunPlan(config=config, seeds=seeds, run_id=run_id, targets=targets)
    plan.folder.ensure()
    write_json(plan.folder.config, resolved)
    return plan


def client_for(plan: RunPlan, endpoint: Endpoint) -> LLMClient:
    llm = plan.config.llm
    concurrency = llm.max_concurrency
    if endpoint.kind == "embedded":
        concurrency = min(concurrency, EMBEDDED_CONCURRENCY)
    return LLMClient.for_run(endpoint, ResponseCache(plan.folder.cache), llm,
                             max_concurrency=concurrency)


def missing_pairs(plan: RunPlan, records: pd.DataFrame) -> dict[str, int]:
    """Per seed: how many answered, kept pairs are still wanted and worth asking for: 0 once
    a seed stopped (`patience` rounds in a row kept nothing, or it hit its attempt limit), so a weak
    model is never asked forever (see `generate.seed_state`)."""
    gen = plan.config.generation
    out = {}
    for s in plan.seeds:
        state = seed_state(s, records, plan.targets[s.id], gen)
        out[s.id] = 0 if state["stop"] else state["missing"]
    return out


def expand_calls(plan: RunPlan, records: pd.DataFrame, seed_id: str,
                 missing: int) -> ExpandWork:
    """The next expansion calls of a seed, split over its strategies; sample indices continue
    after earlier rounds, so each call has its own cache key and reruns ask the same calls."""
    seed = next(s for s in plan.seeds if s.id == seed_id)
    return plan_expansion(seed, records, missing, plan.config.generation)


async def expand_stage(plan: RunPlan, seed: SeedTask, endpoint: Endpoint,
                       samples: ExpandWork | range,
                       round_no: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    client = client_for(plan, endpoint)
    mode = structured_mode(plan.config.llm, endpoint.kind)
    try:
        with StageProgress(f"expand {seed.id}", len(samples), stats=client.usage.line) as tick:
            df = await expand(seed, client, plan.config.generation, mode=mode, samples=samples,
                              run_id=plan.run_id, rng_seed=plan.config.seed, round_no=round_no,
                              progress=tick, folder=plan.folder.root)
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


async def respond_stage(plan: RunPlan, batch: pd.DataFrame,
                        endpoint: Endpoint) -> tuple[pd.DataFrame, dict[str, Any]]:
    client = client_for(plan, endpoint)
    todo = int((batch["keep"].fillna(False).astype(bool) & batch["response"].isna()).sum())

    def stats() -> str:
        u = client.usage
        return (f"{u.requests} calls, {u.cache_hits} cached, {u.completion_tokens} tok out, "
                f"${u.cost_usd:.4f}")

    try:
        with StageProgress("respond", todo, stats=stats) as tick:
            df = await respond(batch, client, plan.config.generation, progress=tick)
        if any(s.multi_turn for s in plan.seeds):
            df = await follow_up(df, client, plan.config.generation,
                                 {s.id: s for s in plan.seeds})
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


async def judge_stage(plan: RunPlan, records: pd.DataFrame,
                      endpoint: Endpoint) -> tuple[pd.DataFrame, dict[str, Any]]:
    """LLM-as-judge scores for kept, answered, unscored pairs (stored in `scores`; curation
    applies the threshold). Off on the embedded model unless `curation.judge.enabled: on`."""
    cfg = plan.config.curation.judge
    if not judge.judge_enabled(cfg, endpoint.kind) or judge.to_judge(records).empty:
        return records, {}
    client = client_for(plan, endpoint)
    fmt = judge.response_format(plan.config.llm.structured, endpoint.kind)
    try:
        df = await judge.judge_records(records, client, cfg, response_fmt=fmt)
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


def backlog(records: pd.DataFrame) -> dict[str, int]:
    """Per seed: kept instructions that have no response yet."""
    if records.empty:
        return {}
    todo = records["keep"].fillna(False).astype(bool) & records["response"].isna()
    return {str(k): int(v) for k, v in records[todo].groupby("seed_id").size().items()}


def to_answer(records: pd.DataFrame, missing: dict[str, int],
              margin: float = 1.25) -> list[pd.DataFrame]:
    """Kept, unanswered records, at most `missing * margin` per seed (the rest of the
    over-generated instructions wait, unpaid, for a later round), in batches."""
    todo = records[records["keep"].fillna(False).astype(bool) & records["response"].isna()]
    quota = todo["seed_id"].map(lambda s: math.ceil(missing.get(s, 0) * margin)).astype("int64")
    todo = todo[todo.groupby("seed_id").cumcount() < quota]
    return [todo.iloc[i:i + RESPOND_BATCH] for i in range(0, len(todo), RESPOND_BATCH)]


def merge(records: pd.DataFrame, updated: list[pd.DataFrame]) -> pd.DataFrame:
    out = records.copy()
    for part in updated:
        # Column by column: pandas 3.1 raises KeyError when a whole frame is assigned and a
        # nullable-int column of a batch not starting at row 0 holds NA (a failed call).
        for col in part.columns:
            out.loc[part.index, col] = part[col]
    return out.astype(COLUMNS)


def curate_round(plan: RunPlan, records: pd.DataFrame) -> pd.DataFrame:
    """Verdicts between generation rounds: no surplus yet (more pairs may still come)."""
    return _curate(plan, records, targets=None)


def curate_stage(plan: RunPlan, records: pd.DataFrame) -> pd.DataFrame:
    """All verdicts from scratch, surplus over each seed's target included."""
    return _curate(plan, records, targets=plan.targets)


def _curate(plan: RunPlan, records: pd.DataFrame,
            targets: dict[str, int] | None) -> pd.DataFrame:
    # the strategies' verdicts (not novel, eliminated evolutions) count before pairs do
    return curate(records, plan.config.curation, seed_examples=plan.seed_examples,
                  targets=targets, seed=plan.config.seed, after_instructions=apply_verdicts)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return new_records([])
    return pd.concat(frames, ignore_index=True).astype(COLUMNS)


def add_usage(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    out = dict(total) if total else Usage().as_dict()
    for k, v in part.items():
        if isinstance(v, int | float):
            out[k] = out.get(k, 0) + v
        elif isinstance(v, dict):
            merged = dict(out.get(k, {}))
            for kk, vv in v.items():
                merged[kk] = merged.get(kk, 0) + vv
            out[k] = merged
    return out


def split_stage(plan: RunPlan, records: pd.DataFrame) -> tuple[pd.Series, dict[str, Any]]:
    cfg = plan.config.split
    labels = split(records, cfg.validation, cfg.test, seed=plan.config.seed,
                   threshold=cfg.group_threshold)
    info = {"leakage": leakage_check(records, labels, cfg.leakage_threshold),
            "ratios": realised_ratios(records, labels)}
    return labels, info


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def llm_price(endpoint: Endpoint, cfg: RunConfig) -> dict[str, Any]:
    """The prices the run's cost was computed with, and where they came from."""
    from datagen.llm.pricing import price_for

    p = price_for(endpoint.model, endpoint.kind, cfg.llm.prices, batch=cfg.llm.batch)
    return {"model": p.model, "usd_per_1m_input": p.input, "usd_per_1m_output": p.output,
            "batch_discount": p.batch, "note": p.note}


def export_stage(plan: RunPlan, records: pd.DataFrame, labels: pd.Series, split_info: dict,
                 endpoint: Endpoint, usage: dict[str, Any], timings: dict[str, float],
                 stage_counts: dict[str, Any]) -> dict[str, Any]:
    """Write records, rejections, OpenAI JSONL, the HF folder and the manifest (atomically)."""
    folder = plan.folder.ensure()
    cfg = plan.config
    started = time.perf_counter()
    write_parquet(folder.records, records)
    rejected = records[~records["keep"].fillna(False).astype(bool)]
    write_jsonl(folder.rejected, [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in rejected[["id", "seed_id", "drop_reason", "instruction", "response",
                             "finish_reason", "dup_cluster", "scores"]].to_dict(orient="records")
    ])
    counts = funnel(records)
    counts.update({name: int((labels == name).sum()) for name in ("train", "validation")})
    if (labels == "test").any():
        counts["test"] = int((labels == "test").sum())
    counts["by_stage"] = stage_counts
    counts["dropped_by_stage"] = ledger.summary(records, examples=0)["by_stage"]
    manifest: dict[str, Any] = {
        "name": f"datagen-{'-'.join(s.id for s in plan.seeds)[:60]}",
        "run_id": plan.run_id,
        "datagen_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "endpoint": endpoint.public,
        "config": cfg.model_dump(mode="json"),
        "seeds": [s.id for s in plan.seeds],
        "versions": versions(),
        "counts": counts,
        "per_seed": per_seed(records, labels, plan.targets),
        "split": split_info,
        "llm": usage,
        "llm_price": llm_price(endpoint, cfg),
        "timings_s": timings,
    }
    manifest.update(generation_sections(records, plan.seeds, plan.targets, cfg.generation,
                                        folder.root, seed=cfg.seed))
    seeds_info = [s.model_dump(mode="json") for s in plan.seeds]
    export_run(folder, records, labels, manifest, cfg, seeds_info)
    timings["export"] = round(time.perf_counter() - started, 3)
    write_json(folder.manifest, manifest)
    raise_on_format_errors(manifest)  # after the manifest, so its report is kept
    return manifest
