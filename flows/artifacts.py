"""Prefect artifacts of a run: what a data engineer checks in the UI the morning after.

The markdown is built from the run's manifest alone (plain functions, testable without
Prefect); `publish_artifacts` posts it. Artifact keys are per seed set, so the UI shows each
nightly job's history under one key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from datagen.export.card import markdown_table, split_table

SPLITS = ("train", "validation", "test")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "run"


def funnel_markdown(manifest: dict[str, Any]) -> str:
    """Per stage, then per drop reason: where the records went."""
    c = manifest["counts"]
    stage = c.get("by_stage", {})
    rows: list[list[Any]] = [
        ["expand: instructions", stage.get("expanded", c["generated"])],
        ["respond: answered", stage.get("responded", "-")],
        ["curate: generated records", c["generated"]],
    ]
    rows += [[f"curate: dropped {reason}", n] for reason, n in c["by_reason"].items()]
    rows += [["**curate: kept**", f"**{c['kept']}**"]]
    rows += [[f"split: {name}", c[name]] for name in SPLITS if name in c]
    return "\n".join([f"# Funnel of run {manifest['run_id']}", "",
                      f"{stage.get('rounds', 1)} generation round(s).", "",
                      markdown_table(["stage", "records"], rows), "", "## Splits", "",
                      split_table(manifest.get("split") or {})])


def seed_markdown(manifest: dict[str, Any]) -> str:
    """Per seed: target, yield (kept of generated), shortfall and why generation stopped."""
    rows = []
    gen = manifest.get("generation") or {}
    for sid, s in manifest["per_seed"].items():
        share = f"{100 * s['kept'] / s['generated']:.1f}%" if s["generated"] else "-"
        stop = gen.get(sid, {}).get("stop", "-")
        rows.append([sid, s["target"], s["generated"], s["kept"], share, s["shortfall"],
                     stop, s.get("train", 0), s.get("validation", 0)])
    return "\n".join([f"# Per-seed yield of run {manifest['run_id']}", "", markdown_table(
        ["seed", "target", "generated", "kept", "yield", "shortfall", "stop", "train",
         "validation"], rows)])


def validate_markdown(manifest: dict[str, Any]) -> str:
    """The OpenAI fine-tuning pre-flight report per split, with the cost estimate, as the
    export stage recorded it in the manifest (`datagen validate` prints the same report)."""
    from datagen.export.validate import markdown

    reports = manifest.get("validate") or {}
    parts = ["# OpenAI validate", ""]
    for name, report in reports.items():
        parts += [f"## {name}", "", markdown(report), ""]
    if not reports:
        parts.append("_no pre-flight report in the manifest_")
    return "\n".join(parts)


def publish_artifacts(manifest: dict[str, Any], out: str | Path, *,
                      published: dict[str, Any] | None = None,
                      dataset: str | Path | None = None,
                      hub_url: str | None = None) -> list[str]:
    """Post the run's artifacts to Prefect; return their keys."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    slug = _slug("-".join(manifest.get("seeds", [])) or manifest["run_id"])
    keys = {"funnel": f"funnel-{slug}", "seeds": f"seed-yield-{slug}",
            "validate": f"openai-validate-{slug}", "run": f"run-folder-{slug}"}
    create_markdown_artifact(funnel_markdown(manifest), key=keys["funnel"],
                             description="Records per stage and per drop reason")
    create_markdown_artifact(seed_markdown(manifest), key=keys["seeds"],
                             description="Kept pairs per seed against its target")
    create_markdown_artifact(validate_markdown(manifest), key=keys["validate"],
                             description="OpenAI fine-tuning pre-flight checks")
    create_link_artifact(Path(out).resolve().as_uri(), link_text=f"run folder {Path(out).name}",
                         key=keys["run"], description="The run folder")
    report = Path(out).resolve() / "report.html"
    if report.exists():
        keys["report"] = f"report-{slug}"
        create_markdown_artifact(
            f"# Run report\n\nThe HTML report with its record viewer: `{report}` "
            f"([open]({report.as_uri()})); `datagen report {Path(out).resolve()} --serve` "
            f"serves it over HTTP.", key=keys["report"],
            description="report.html: funnel, plots, split check, cost, record viewer")
    if published is not None and dataset is not None:
        keys["dataset"] = f"dataset-{slug}"
        counts = ", ".join(f"{k} {v}" for k, v in published["counts"].items())
        create_link_artifact(Path(dataset).resolve().as_uri(),
                             link_text=f"dataset {Path(dataset).name} ({counts})",
                             key=keys["dataset"],
                             description=f"{len(published['lineage'])} runs appended")
    if hub_url:
        keys["hub"] = f"hub-dataset-{slug}"
        create_link_artifact(hub_url, link_text="dataset on the Hugging Face Hub",
                             key=keys["hub"], description="Where `datagen push` uploaded hf/")
    return list(keys.values())
