"""Numbers of a run, for the manifest, the console, the report and the dataset card.

Seed fields, instructions and answers are untrusted: every one reaches the card and
`report.md` through `datagen.markup` (escaped inline text, tables, fenced code), so a
`<script>` in an answer renders as text wherever the Markdown is shown.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from datagen.markup import md_block, md_bold, md_code, md_table, md_text


def funnel(records: pd.DataFrame) -> dict[str, Any]:
    """generated = kept + dropped; dropped broken down by reason (first reason wins)."""
    keep = records["keep"].fillna(False).astype(bool)
    reasons = records.loc[~keep, "drop_reason"].fillna("unknown").value_counts()
    return {
        "generated": int(len(records)),
        "kept": int(keep.sum()),
        "dropped": int((~keep).sum()),
        "by_reason": {str(k): int(v) for k, v in reasons.sort_values(ascending=False).items()},
    }


def per_seed(records: pd.DataFrame, labels: pd.Series, targets: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for seed_id, part in records.groupby("seed_id", sort=True):
        f = funnel(part)
        lab = labels.reindex(part.index).dropna()
        f["target"] = int(targets.get(str(seed_id), 0))
        f["shortfall"] = max(0, f["target"] - f["kept"])
        f["train"] = int((lab == "train").sum())
        f["validation"] = int((lab == "validation").sum())
        if (labels == "test").any():
            f["test"] = int((lab == "test").sum())
        out[str(seed_id)] = f
    return out


markdown_table = md_table  # cells escaped unless `Markdown`: the name the other writers import


def funnel_table(f: dict[str, Any]) -> str:
    rows = [["generated", f["generated"]]]
    rows += [[f"dropped: {reason}", n] for reason, n in f["by_reason"].items()]
    rows += [[md_bold("kept"), md_bold(f["kept"])]]
    return markdown_table(["stage", "records"], rows)


def seed_table(seeds: dict[str, Any]) -> str:
    """Per seed: target, yield, split sizes and drop reasons."""
    splits = ["train", "validation"] + (["test"] if any("test" in s for s in seeds.values())
                                        else [])
    rows = [[sid, s["target"], s["generated"], s["kept"], s["shortfall"],
             *(s.get(n, 0) for n in splits),
             ", ".join(f"{k} {v}" for k, v in s["by_reason"].items()) or "-"]
            for sid, s in seeds.items()]
    return markdown_table(["seed", "target", "generated", "kept", "shortfall", *splits,
                           "drops"], rows)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width].rstrip() + " …"


def examples_block(df: pd.DataFrame, n: int = 3, width: int = 300) -> str:
    parts = []
    for _, r in df.head(n).iterrows():
        ins, res = (md_text(_clip(str(r[c]).replace("\n", " "), width))
                    for c in ("instruction", "response"))
        parts.append(f"- {md_bold(r['seed_id'])}\n  - user: {ins}\n  - assistant: {res}")
    return "\n".join(parts) or "_none_"


def language_table(splits: dict[str, pd.DataFrame]) -> str:
    """Target language against detected language of the exported pairs."""
    frames = [df for df in splits.values() if not df.empty]
    if not frames:
        return "_no pairs_"
    both = pd.concat(frames)
    detected = both["detected_language"].fillna("not detected").astype(str)
    counts = pd.crosstab(both["language"].fillna("?").astype(str), detected)
    rows = [[target, *(int(counts.loc[target, c]) for c in counts.columns)]
            for target in counts.index]
    return markdown_table(["target \\ detected", *counts.columns], rows)


def split_table(split_info: dict[str, Any]) -> str:
    ratios = split_info.get("ratios", {})
    names = [n for n in ("train", "validation", "test")
             if any(r.get(n) for r in ratios.values())]
    rows = [[seed, *(r.get(n, 0) for n in names), r.get("validation_share", "")]
            for seed, r in ratios.items()]
    table = markdown_table(["seed", *names, "validation share"], rows)
    shares = split_info.get("shares") or {}
    if not shares.get("misses"):
        return table
    lines = [table, "", f"**The shares asked could not be met** (tolerance "
             f"{md_text(shares['tolerance'])}): {md_text(shares['warning'])}.", ""]
    rows = [[m["seed"], m["split"], m["asked_share"], m["realised_share"], g["size"],
             g["share"], g["split"], g["example"]]
            for m in shares["misses"] for g in m["largest_groups"]]
    lines.append(markdown_table(["seed", "split", "asked", "realised", "largest group",
                                 "group share", "group in", "example instruction"], rows))
    return "\n".join(lines)


def _stage_line(counts: dict[str, Any]) -> list[str]:
    stages = counts.get("by_stage") or {}
    parts = [f"{k} {v}" for k, v in stages.items() if isinstance(v, int | float)]
    return [f"Generation stages: {md_text(', '.join(parts))}.", ""] if parts else []


def _llm_lines(manifest: dict[str, Any]) -> list[str]:
    ep, llm = manifest["endpoint"], manifest.get("llm", {})
    return [
        f"- model: {md_code(ep.get('model'))} ({md_text(ep.get('kind'))} endpoint)",
        f"- LLM requests: {llm.get('requests', 0)}, cached answers reused: "
        f"{llm.get('cache_hits', 0)}",
        f"- tokens: {llm.get('prompt_tokens', 0)} prompt, "
        f"{llm.get('completion_tokens', 0)} completion",
    ]


def source_lines(manifest: dict[str, Any]) -> list[str]:
    """Grounded seeds: what each source file gave (the `source_*` columns name the chunk or
    row of every record)."""
    info = (manifest.get("sources") or {}).get("seeds") or {}
    if not info:
        return []
    rows = [[seed_id, file, f["units"], f["used"], f["instructions"], f["kept"]]
            for seed_id, s in info.items() for file, f in s["files"].items()]
    masked = (" PII was masked in the sources before they were sent to the model."
              if (manifest.get("sources") or {}).get("pii_masked") else "")
    return ["## Sources",
            "Grounded seeds: every record was written from one chunk of a document or one row "
            "of a table, named in the `source_file`, `source_id`, `source_start`/`source_end` "
            "and `source_row` columns; train and validation never share a chunk or row."
            + masked, "",
            markdown_table(["seed", "file", "chunks or rows", "gave kept pairs",
                            "instructions", "kept"], rows), ""]


def schema_fields(schema: dict[str, Any]) -> dict[str, list[str]]:
    """An output schema's top-level fields and which of them are required: what the card
    states of a structured-output seed (the whole schema is in the seed file)."""
    props = schema.get("properties")
    required = schema.get("required")
    return {"fields": [str(k) for k in props] if isinstance(props, dict) else [],
            "required": [str(k) for k in required] if isinstance(required, list) else []}


def kinds_lines(shapes: dict[str, Any] | None, schemas: dict[str, dict[str, list[str]]],
                kept: dict[str, int], total: int) -> list[str]:
    """The card's "Data kinds" section: how many of the `total` kept records are tool-calling
    conversations (and the calls per tool), how many are conversations of several user turns,
    and which seeds' answers follow an output schema (`schemas`: seed id to `schema_fields`;
    `kept`: kept records per seed). `shapes` is the manifest's section of the same name (kept
    counts only are read). Nothing when the records hold none of these kinds."""
    shapes = shapes or {}
    calling = int(shapes.get("kept_calling_tools") or 0)
    per_tool = shapes.get("calls_per_tool") or {}
    by_turns = {int(k): int(v) for k, v in (shapes.get("kept_by_turns") or {}).items()
                if int(k) > 1}
    if not (calling or by_turns or schemas):
        return []
    lines = ["## Data kinds", ""]
    if calling:
        lines += [f"- **Tool calling**: {calling} of the {total} kept records are conversations "
                  "in which the assistant calls a tool: assistant messages carry `tool_calls`, "
                  "each answered by a `tool` message with its `tool_call_id`, and the example "
                  "carries the definitions in `tools` (JSON text in the Hugging Face dataset). "
                  "Calls per tool:", "",
                  markdown_table(["tool", "calls"], [[k, v] for k, v in per_tool.items()]), ""]
    if by_turns:
        lines += [f"- **Multi-turn**: {sum(by_turns.values())} of the {total} kept records are "
                  "conversations of several user turns:", "",
                  markdown_table(["user turns", "conversations"],
                                 [[k, v] for k, v in sorted(by_turns.items())]), ""]
    if schemas:
        lines += [f"- **Structured output**: {sum(kept.get(s, 0) for s in schemas)} of the "
                  f"{total} kept records answer with JSON that validates against their seed's "
                  "output schema (the assistant's content is the JSON text):", "",
                  markdown_table(["seed", "kept answers", "top-level fields", "required"],
                                 [[sid, kept.get(sid, 0), ", ".join(f["fields"]) or "-",
                                   ", ".join(f["required"]) or "-"]
                                  for sid, f in schemas.items()]), ""]
    return lines


def semantic_lines(manifest: dict[str, Any]) -> list[str]:
    """With `curation.semantic` on: per seed, how many distinct requests stayed and the most
    crowded topics."""
    info = manifest.get("semantic") or {}
    if not info:
        return []
    rows = [[sid, m["judged"], m["clusters"], m["duplicate_share"], m["spread"],
             "; ".join(f"{t[:80]} ({n})" for t, n in m["crowded"]) or "-"]
            for sid, m in info.items()]
    return ["## Semantic coverage",
            "Instructions that ask the same thing in other words were found with a sentence "
            "embedding model; one of each cluster was kept. Spread is the mean cosine distance "
            "of the kept instructions to their seed's centre.", "",
            markdown_table(["seed", "judged", "clusters", "semantic duplicate share", "spread",
                            "most crowded (instruction, records)"], rows), ""]


def card_body(manifest: dict[str, Any], splits: dict[str, pd.DataFrame],
              seeds: list[dict[str, Any]], *, plots: dict[str, str] | None = None,
              preflight: str | None = None, repo_id: str | None = None,
              title: str | None = None) -> str:
    """The data-driven body of the dataset card (and of the run report). `plots` maps a plot
    name to its path relative to the card; `preflight` is the OpenAI check's summary (Markdown
    that `datagen.export.validate` wrote); `title` the heading (the run's name)."""
    plots = plots or {}
    leak = manifest["split"]["leakage"]
    seed_rows = [[s["id"], s["domain"], s["language"], s["task"][:120]] for s in seeds]
    kinds = kinds_lines(manifest.get("shapes"),
                        {s["id"]: schema_fields(s["output_schema"]) for s in seeds
                         if s.get("output_schema")},
                        {k: v["kept"] for k, v in manifest["per_seed"].items()},
                        manifest["counts"]["kept"])

    def plot(name: str, alt: str) -> list[str]:
        return [f"![{alt}]({plots[name]})", ""] if name in plots else []

    body = [
        f"# {md_text(manifest['name'] if title is None else title)}", "",
        "Synthetic instruction/response pairs made with datagen from the seed tasks below, "
        "deduplicated and filtered. Every record's provenance and every rejected record are "
        "kept in the run folder.", "",
        "## Seeds", markdown_table(["seed", "domain", "language", "task"], seed_rows), "",
        *kinds,
        "## Generation", *_llm_lines(manifest), "",
        "## Funnel", *_stage_line(manifest["counts"]), funnel_table(manifest["counts"]), "",
        "## Per seed", seed_table(manifest["per_seed"]), "",
        *plot("seed_yield", "kept and dropped records per seed"),
        "## Languages", language_table(splits), "",
        *plot("languages", "detected language of kept pairs"),
        "## Splits", split_table(manifest["split"]), "",
        f"Splits are group-aware: near-duplicate instructions (and curation clusters) never "
        f"cross a split. Checked: {leak['crossing_pairs']} crossing pairs at ratio >= "
        f"{leak['threshold']:.0f} ({'passed' if leak['passed'] else 'FAILED'}).", "",
        "## Token lengths", *plot("token_lengths", "tokens per example"),
    ]
    body += source_lines(manifest)
    body += semantic_lines(manifest)
    if preflight:
        body += ["OpenAI fine-tuning pre-flight check of the train split:", "", preflight, ""]
    for name, df in splits.items():
        if not df.empty:
            body += [f"## Examples: {name}", examples_block(df), ""]
    body += ["## Load it", md_block(load_code(repo_id or "path/to/this/folder",
                                             seeds[0]["id"] if seeds else "my-seed"), "python")]
    return "\n".join(body)


def load_code(where: str, seed_id: str) -> str:
    """Python that loads the dataset and one seed's pairs; names as string literals (JSON's
    are Python's too), so a quote in a name cannot end the string."""
    return "\n".join([
        "from datasets import load_dataset",
        f"ds = load_dataset({json.dumps(where)})",
        'print(ds["train"][0]["messages"])',
        f'legal = ds["train"].filter(lambda r: r["seed_id"] == {json.dumps(seed_id)})',
    ])
