"""Prefect artifacts of a run: what a data engineer checks in the UI the morning after.

The markdown is built from the run's manifest alone (plain functions, testable without
Prefect); `publish_artifacts` posts it. Artifact keys are per deployment (or per seed set and
target outside one), so the UI shows each job's history under its own key. Paths are shown as
text; a link is added only where the config says how the folder is seen
(`orchestration.links`): a `file://` link opens nothing from the UI or another machine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datagen.config import LinksConfig
from datagen.export.card import markdown_table, split_table
from datagen.markup import md_bold, md_code, md_text

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
    rows += [[md_bold("curate: kept"), md_bold(c["kept"])]]
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
    from datagen.export.validate_report import markdown

    reports = manifest.get("validate") or {}
    parts = ["# OpenAI validate", ""]
    for name, report in reports.items():
        parts += [f"## {name}", "", markdown(report), ""]
    if not reports:
        parts.append("_no pre-flight report in the manifest_")
    return "\n".join(parts)


def url_of(path: str | Path, links: LinksConfig | None) -> str | None:
    """The URL of `path` under `links.root`, or None; the path part percent-encoded (a `)` or
    a space in a folder's name would end a Markdown link)."""
    if links is None:
        return None
    path, root = Path(path).absolute(), Path(links.root).absolute()
    if not path.is_relative_to(root):
        return None
    rel = path.relative_to(root).as_posix()
    return links.url.rstrip("/") + ("/" + quote(rel) if rel != "." else "")


def where(what: str, path: str | Path, links: LinksConfig | None) -> str:
    """`what: /the/path` as text, with a link when the folder is served."""
    path = Path(path).absolute()  # the run folder's own names, not its generation's
    url = url_of(path, links)
    return f"{what}: {md_code(path)}" + (f" ([open]({url}))" if url else "")


def cost_markdown(manifest: dict[str, Any]) -> str:
    """Requests, tokens and dollars per LLM stage (each stage is a model role, with the
    model it called), whether the judge was the answers' own model, and what fine-tuning on
    it would cost."""
    llm = manifest.get("llm") or {}
    cols = ("requests", "cache_hits", "failures", "prompt_tokens", "completion_tokens")
    rows = [[name, *(u.get(k, 0) for k in cols), f"${u.get('cost_usd', 0):.4f}"]
            for name, u in (llm.get("by_stage") or {}).items()]
    rows.append([md_bold("all"), *(llm.get(k, 0) for k in cols),
                 md_bold(f"${llm.get('cost_usd', 0):.4f}")])
    parts = [f"# Cost of run {manifest['run_id']}", "", "## Generation", "",
             markdown_table(["stage", "requests", "cached", "failed", "prompt tokens",
                             "completion tokens", "cost"], rows)]
    if models := manifest.get("models"):
        parts += ["", "## Models by role", "", markdown_table(
            ["role", "model", "endpoint", "requests", "tokens", "cost"],
            [[role, m.get("model", ""), m.get("kind", ""), m.get("requests", 0),
              m.get("prompt_tokens", 0) + m.get("completion_tokens", 0),
              f"${m.get('cost_usd', 0):.4f}"] for role, m in models.items()])]
    if manifest.get("self_judged"):
        parts += ["", "**Self-judged**: the judge is the model that wrote the answers."]
    tune = [[split, model, m["billed_tokens"], m["epochs"], f"${m['cost_usd']:.4f}"]
            for split, rep in (manifest.get("validate") or {}).items()
            for model, m in rep.get("models", {}).items()]
    if tune:
        parts += ["", "## Fine-tuning on it (OpenAI pre-flight estimate)", "",
                  markdown_table(["split", "target model", "billed tokens", "epochs", "cost"],
                                 tune)]
    return "\n".join(parts)


def publish_artifacts(manifest: dict[str, Any], out: str | Path, *,
                      published: dict[str, Any] | None = None,
                      dataset: str | Path | None = None,
                      hub_url: str | None = None, key: str | None = None,
                      links: LinksConfig | None = None) -> list[str]:
    """Post the run's artifacts to Prefect under `key` (a deployment's name, or the seed set
    and target); return their keys."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    slug = _slug(key or "-".join(manifest.get("seeds", [])) or manifest["run_id"])
    keys = {"funnel": f"funnel-{slug}", "seeds": f"seed-yield-{slug}",
            "cost": f"cost-{slug}", "validate": f"openai-validate-{slug}",
            "run": f"run-folder-{slug}"}
    create_markdown_artifact(funnel_markdown(manifest), key=keys["funnel"],
                             description="Records per stage and per drop reason")
    create_markdown_artifact(seed_markdown(manifest), key=keys["seeds"],
                             description="Kept pairs per seed against its target")
    create_markdown_artifact(cost_markdown(manifest), key=keys["cost"],
                             description="Generation tokens and cost per stage")
    create_markdown_artifact(validate_markdown(manifest), key=keys["validate"],
                             description="OpenAI fine-tuning pre-flight checks")
    out = Path(out).absolute()
    lines = [f"# Run {manifest['run_id']}", "", where("run folder", out, links)]
    if (out / "report.html").exists():
        lines += ["", where("report (funnel, plots, split check, cost, record viewer)",
                            out / "report.html", links), "",
                  f"On the machine that ran it: `datagen report {out} --serve`."]
    create_markdown_artifact("\n".join(lines), key=keys["run"],
                             description="The run folder and its report.html")
    if published is not None and dataset is not None:
        keys["dataset"] = f"dataset-{slug}"
        counts = ", ".join(f"{k} {v}" for k, v in published["counts"].items())
        create_markdown_artifact(
            "\n".join([f"# Dataset {md_text(Path(dataset).name)}", "",
                       where("folder", dataset, links),
                       "", f"{counts}; {len(published['lineage'])} runs appended."]),
            key=keys["dataset"], description="The published dataset this run appended to")
    if hub_url:
        keys["hub"] = f"hub-dataset-{slug}"
        create_link_artifact(hub_url, link_text="dataset on the Hugging Face Hub",
                             key=keys["hub"], description="Where `datagen push` uploaded hf/")
    return list(keys.values())
