"""Incremental runs: grow a published dataset night after night, without duplicates and
without split churn.

A published dataset folder holds every record ever appended (`records.parquet`, with a `split`
column), its exports (`openai/*.jsonl`, `hf/`) and a manifest whose `lineage` lists the runs
that contributed. The manifest is written last and is the commit point: records of a run that
is not in the lineage (a publish killed half-way) are ignored when the folder is read back, so
rerunning the failed run publishes it exactly once.

Splits are stable: a published record never changes split. A new record that is a near
paraphrase of a published one (at the split's grouping threshold) joins that record's split; any
other new group is placed by a hash of its `dup_cluster`, which does not depend on what else was
generated that night.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from rapidfuzz import fuzz, process

from datagen.config import RunConfig
from datagen.dedup import clusters, overlap_with
from datagen.export.hf import write_hf
from datagen.export.openai import write_chat_jsonl
from datagen.records import COLUMNS, DropReason, kept
from datagen.report import markdown_table
from datagen.runfolder import write_json, write_parquet
from datagen.split import GROUP_THRESHOLD
from datagen.split import SPLITS as SPLIT_NAMES
from datagen.text import token_sort


class Published:
    """A published dataset folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    records_path = property(lambda self: self.root / "records.parquet")
    manifest_path = property(lambda self: self.root / "manifest.json")
    openai = property(lambda self: self.root / "openai")
    hf = property(lambda self: self.root / "hf")

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {"lineage": []}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def records(self) -> pd.DataFrame:
        """Committed records (with `split`); an empty frame for a new dataset."""
        lineage = {entry["run_id"] for entry in self.manifest()["lineage"]}
        if not lineage or not self.records_path.exists():
            return pd.DataFrame({**{c: pd.Series(dtype=t) for c, t in COLUMNS.items()},
                                 "split": pd.Series(dtype="string")})
        df = pd.read_parquet(self.records_path)
        return df[df["run_id"].isin(lineage)].reset_index(drop=True)


def night(config: RunConfig) -> int:
    """How many runs the dataset appended to already holds (0 when not appending)."""
    return len(Published(config.append_to).manifest()["lineage"]) if config.append_to else 0


def prepare(config: RunConfig) -> RunConfig:
    """The config a run actually uses. Appending, each new night gets its own random seed, so
    the same nightly parameters ask new questions instead of replaying last night's cached
    answers; a failed night rerun gets the same seed again and so resumes from the cache."""
    n = night(config)
    return config.model_copy(update={"seed": config.seed + n}) if n else config


def _nearest(queries: list[str], refs: list[str], threshold: float) -> list[int | None]:
    """Index of the most similar reference per query (ratio >= threshold), else None."""
    if not queries or not refs:
        return [None] * len(queries)
    scores = process.cdist([token_sort(q) for q in queries], [token_sort(r) for r in refs],
                           scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8,
                           workers=-1)
    best = scores.argmax(axis=1)
    return [int(b) if scores[i, b] > 0 else None for i, b in enumerate(best)]


def drop_published(records: pd.DataFrame, published: pd.DataFrame,
                   threshold: float) -> pd.DataFrame:
    """Mark kept records whose instruction is already published (exactly, or a near-duplicate
    at the dedup threshold) as `published_duplicate`, with curation's reference-index match
    (LSH when the dataset is large). Returns a new frame."""
    out = records.copy()
    if not published.empty and not out.empty:
        overlap_with(out, "instruction", published["instruction"].fillna("").tolist(), threshold,
                     DropReason.PUBLISHED_DUPLICATE)
    return out


def bucket(key: str, validation: float, test: float = 0.0) -> str:
    """A split from a hash: the same key lands in the same split every night."""
    u = xxhash.xxh3_64_intdigest(key.encode()) / 2**64
    return "test" if u < test else "validation" if u < test + validation else "train"


def assign_splits(records: pd.DataFrame, published: pd.DataFrame, validation: float | int,
                  test: float | int = 0.0, threshold: float = GROUP_THRESHOLD) -> pd.Series:
    """A split per kept record of this run, indexed like `records`; stable across nights.
    A split size given as a count (an int) is that many records of this run, on average."""
    live = kept(records)
    labels = pd.Series(pd.NA, index=live.index, dtype="string")
    if live.empty:
        return labels
    validation, test = (v if isinstance(v, float) else min(1.0, v / len(live))
                        for v in (validation, test))
    texts = live["instruction"].fillna("").tolist()
    roots = clusters(texts, threshold)
    near = _nearest(texts, published["instruction"].fillna("").tolist(), threshold)
    pub_split = published["split"].astype(str).tolist()
    keys = live["dup_cluster"].fillna(live["id"]).astype(str).tolist()
    by_root: dict[int, str] = {}
    for i, ref in enumerate(near):  # a group touching a published record follows it
        if ref is not None:
            by_root.setdefault(roots[i], pub_split[ref])
    for i, root in enumerate(roots):
        if root not in by_root:
            by_root[root] = bucket(keys[root], validation, test)
        labels.iloc[i] = by_root[root]
    return labels


def publish(config: RunConfig, run_id: str, records: pd.DataFrame, labels: pd.Series,
            *, duplicates: int, system_message: bool = True) -> dict[str, Any]:
    """Append this run's kept records to the dataset folder; return the new manifest."""
    target = Published(config.append_to or "")
    target.root.mkdir(parents=True, exist_ok=True)
    manifest = target.manifest()
    if any(e["run_id"] == run_id for e in manifest["lineage"]):
        return manifest  # already committed: publishing twice would duplicate the night
    old = target.records()
    new = records.loc[labels.index].assign(split=labels.astype("string"))
    everything = pd.concat([old, new], ignore_index=True) if not old.empty else new
    everything = everything.reset_index(drop=True)
    write_parquet(target.records_path, everything)  # records of an uncommitted run are ignored
    splits = {name: everything[everything["split"] == name] for name in SPLIT_NAMES}
    splits = {k: v for k, v in splits.items() if k != "test" or not v.empty}
    for name, df in splits.items():
        write_chat_jsonl(df, target.openai / f"{name}.jsonl", system_message=system_message)
    entry = {
        "run_id": run_id, "out": config.out, "seed": config.seed,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "added": {name: int((labels == name).sum()) for name in splits},
        "published_duplicates": int(duplicates),
    }
    manifest = {
        "name": manifest.get("name") or target.root.name,
        "lineage": [*manifest["lineage"], entry],
        "counts": {name: len(df) for name, df in splits.items()} | {"total": len(everything)},
        "seeds": sorted(everything["seed_id"].dropna().astype(str).unique()),
    }
    write_hf(splits, target.hf, card_body=card_body(manifest), system_message=system_message,
             card_meta={"license": config.export.license,
                        "tags": ["synthetic", "datagen", "incremental"]})
    write_json(target.manifest_path, manifest)  # the commit point
    return manifest


def card_body(manifest: dict[str, Any]) -> str:
    rows = [[e["created"], e["run_id"], *(e["added"].get(s, 0) for s in ("train", "validation")),
             e["published_duplicates"]] for e in manifest["lineage"]]
    counts = manifest["counts"]
    return "\n".join([
        f"# {manifest['name']}", "",
        "Synthetic instruction/response pairs grown run by run with datagen. New pairs are "
        "deduplicated against everything already published; a published pair never changes "
        "split.", "",
        "## Splits",
        markdown_table(["split", "pairs"], [[k, v] for k, v in counts.items() if k != "total"]),
        "", "## Lineage",
        markdown_table(["created", "run", "train added", "validation added",
                        "duplicates of published"], rows), "",
    ])
