"""Numbers of a run, for the manifest, the console, the report and the dataset card."""

from __future__ import annotations

from typing import Any

import pandas as pd

from datagen.records import kept


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
        out[str(seed_id)] = f
    return out


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def funnel_table(f: dict[str, Any]) -> str:
    rows = [["generated", f["generated"]]]
    rows += [[f"dropped: {reason}", n] for reason, n in f["by_reason"].items()]
    rows += [["**kept**", f"**{f['kept']}**"]]
    return markdown_table(["stage", "records"], rows)


def seed_table(seeds: dict[str, Any]) -> str:
    rows = [[sid, s["target"], s["generated"], s["kept"], s["shortfall"], s["train"],
             s["validation"], ", ".join(f"{k} {v}" for k, v in s["by_reason"].items()) or "-"]
            for sid, s in seeds.items()]
    return markdown_table(["seed", "target", "generated", "kept", "shortfall", "train",
                           "validation", "drops"], rows)


def examples_block(df: pd.DataFrame, n: int = 3, width: int = 300) -> str:
    parts = []
    for _, r in df.head(n).iterrows():
        ins = str(r["instruction"]).replace("\n", " ")[:width]
        res = str(r["response"]).replace("\n", " ")[:width]
        parts.append(f"- **{r['seed_id']}**\n  - user: {ins}\n  - assistant: {res}")
    return "\n".join(parts) or "_none_"


def card_body(manifest: dict[str, Any], splits: dict[str, pd.DataFrame],
              seeds: list[dict[str, Any]]) -> str:
    """The data-driven body of the dataset card."""
    c = manifest["counts"]
    ep = manifest["endpoint"]
    seed_rows = [[s["id"], s["domain"], s["language"], s["task"][:120]] for s in seeds]
    lang = pd.concat(list(splits.values()))["language"].value_counts() if splits else {}
    body = [
        f"# {manifest['name']}",
        "",
        "Synthetic instruction/response pairs made with datagen from the seed tasks below, "
        "deduplicated and filtered. Every record's provenance and every rejected record are "
        "kept in the run folder.",
        "",
        "## Seeds",
        markdown_table(["seed", "domain", "language", "task"], seed_rows),
        "",
        "## Generation",
        f"- model: `{ep['model']}` ({ep['kind']} endpoint)",
        f"- LLM requests: {manifest['llm']['requests']}, cached answers reused: "
        f"{manifest['llm']['cache_hits']}",
        f"- tokens: {manifest['llm']['prompt_tokens']} prompt, "
        f"{manifest['llm']['completion_tokens']} completion",
        "",
        "## Funnel",
        funnel_table(c),
        "",
        "## Per seed",
        seed_table(manifest["per_seed"]),
        "",
        "## Languages",
        markdown_table(["language", "pairs"], [[k, v] for k, v in dict(lang).items()]),
        "",
        "## Splits",
        markdown_table(["split", "pairs"], [[k, len(v)] for k, v in splits.items()]),
        "",
        f"No near-duplicate crosses the split: {manifest['split']['leakage']['crossing_pairs']} "
        f"pairs at ratio >= {manifest['split']['leakage']['threshold']:.0f}.",
        "",
    ]
    for name, df in splits.items():
        body += [f"## Examples: {name}", examples_block(df), ""]
    body += [
        "## Load it",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder")  # or the Hub repo id',
        'print(ds["train"][0]["messages"])',
        "```",
    ]
    return "\n".join(body)
