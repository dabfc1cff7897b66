"""The stages of a run as plain functions, so the library runs with or without Prefect.

`flows/generate_dataset.py` wraps these as Prefect tasks. Each stage takes and returns records
(see `datagen.records`); everything an LLM produced goes through the response cache in the run
folder first, so a rerun or a resume repeats no completed call.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pandas as pd

from datagen import __version__
from datagen.config import RunConfig
from datagen.curate import curate, curate_instructions, curate_pairs
from datagen.errors import ExportError
from datagen.export.hf import write_hf
from datagen.export.openai import format_errors, write_chat_jsonl
from datagen.generate import expand, expand_calls_needed, respond, structured_mode
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient, Usage
from datagen.llm.endpoint import Endpoint
from datagen.progress import StageProgress
from datagen.records import COLUMNS, kept, new_records, record_id
from datagen.report import card_body, funnel, funnel_table, per_seed
from datagen.runfolder import RunFolder, write_json, write_jsonl, write_parquet, write_text
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
    return LLMClient(endpoint, ResponseCache(plan.folder.cache), max_concurrency=concurrency,
                     timeout_s=llm.timeout_s, max_retries=llm.max_retries)


def missing_pairs(plan: RunPlan, records: pd.DataFrame) -> dict[str, int]:
    """Per seed: how many answered, kept pairs are still wanted."""
    live = kept(records)
    have = live[live["response"].notna()].groupby("seed_id").size()
    return {sid: max(0, t - int(have.get(sid, 0))) for sid, t in plan.targets.items()}


def expand_calls(plan: RunPlan, records: pd.DataFrame, seed_id: str, missing: int) -> range:
    """Sample indices of the next expansion calls for a seed (continuing after earlier rounds,
    so each call has its own cache key and reruns ask the very same calls)."""
    done = 0
    if not records.empty:
        meta = records.loc[records["seed_id"] == seed_id, "metadata"].map(json.loads)
        samples = {m.get("sample") for m in meta if m.get("stage") == "expand"}
        samples.discard(None)
        done = max(samples) + 1 if samples else 0
    return range(done, done + expand_calls_needed(missing, plan.config.generation))


async def expand_stage(plan: RunPlan, seed: SeedTask, endpoint: Endpoint, samples: range,
                       round_no: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    client = client_for(plan, endpoint)
    mode = structured_mode(plan.config.llm, endpoint.kind)
    try:
        with StageProgress(f"expand {seed.id}", len(samples)) as tick:
            df = await expand(seed, client, plan.config.generation, mode=mode, samples=samples,
                              run_id=plan.run_id, rng_seed=plan.config.seed, round_no=round_no,
                              progress=tick)
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


async def respond_stage(plan: RunPlan, batch: pd.DataFrame,
                        endpoint: Endpoint) -> tuple[pd.DataFrame, dict[str, Any]]:
    client = client_for(plan, endpoint)
    todo = int((batch["keep"].fillna(False).astype(bool) & batch["response"].isna()).sum())

    def stats() -> str:
        u = client.usage
        return f"{u.requests} calls, {u.cache_hits} cached, {u.completion_tokens} tok out"

    try:
        with StageProgress("respond", todo, stats=stats) as tick:
            df = await respond(batch, client, plan.config.generation, progress=tick)
    finally:
        await client.aclose()
    return df, client.usage.as_dict()


def to_answer(records: pd.DataFrame, missing: dict[str, int],
              margin: float = 1.25) -> list[pd.DataFrame]:
    """Kept, unanswered records, at most `missing * margin` per seed (the rest of the
    over-generated instructions wait, unpaid, for a later round), in batches."""
    todo = records[records["keep"].fillna(False).astype(bool) & records["response"].isna()]
    quota = todo["seed_id"].map(lambda s: math.ceil(missing.get(s, 0) * margin))
    todo = todo[todo.groupby("seed_id").cumcount() < quota]
    return [todo.iloc[i:i + RESPOND_BATCH] for i in range(0, len(todo), RESPOND_BATCH)]


def merge(records: pd.DataFrame, updated: list[pd.DataFrame]) -> pd.DataFrame:
    out = records.copy()
    for part in updated:
        out.loc[part.index] = part
    return out.astype(COLUMNS)


def curate_round(plan: RunPlan, records: pd.DataFrame) -> pd.DataFrame:
    """Instruction-level verdicts for new records; pair verdicts for answered ones."""
    cfg = plan.config.curation
    out = curate_instructions(records, cfg, plan.seed_examples)
    return curate_pairs(out, cfg, seed=plan.config.seed)


def curate_stage(plan: RunPlan, records: pd.DataFrame) -> pd.DataFrame:
    return curate(records, plan.config.curation, seed_examples=plan.seed_examples,
                  targets=plan.targets, seed=plan.config.seed)


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
    labels = split(records, plan.config.split.validation, seed=plan.config.seed)
    info = {"leakage": leakage_check(records, labels), "ratios": realised_ratios(records, labels)}
    return labels, info


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


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
                             "finish_reason"]].to_dict(orient="records")
    ])
    splits = {name: records.loc[labels.index[labels == name]] for name in ("train", "validation")}
    for name, df in splits.items():
        path = folder.openai / f"{name}.jsonl"
        write_chat_jsonl(df, path, system_message=cfg.export.system_message)
        errors = format_errors(path)
        if errors:
            raise ExportError(f"{path}: {len(errors)} invalid lines, first: {errors[0]}")
    counts = funnel(records)
    counts.update({"train": len(splits["train"]), "validation": len(splits["validation"]),
                   "by_stage": stage_counts})
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
        "timings_s": timings,
    }
    seeds_info = [s.model_dump(mode="json") for s in plan.seeds]
    languages = sorted({s.language.split("-")[0] for s in plan.seeds})
    write_hf(splits, folder.hf, card_body=card_body(manifest, splits, seeds_info),
             card_meta={"language": languages, "license": cfg.export.license,
                        "tags": ["synthetic", "datagen", *sorted({s.domain for s in plan.seeds})]},
             system_message=cfg.export.system_message)
    timings["export"] = round(time.perf_counter() - started, 3)
    write_json(folder.manifest, manifest)
    write_text(folder.report, f"# Run {plan.run_id}\n\n" + funnel_table(counts) + "\n")
    return manifest
