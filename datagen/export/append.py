"""Incremental runs: grow a published dataset night after night, without duplicates and
without split churn.

A published dataset folder holds every record ever appended (`records.parquet`, with a `split`
column), its exports (`openai/*.jsonl`, `hf/`) and a manifest whose `lineage` lists the runs
that contributed. The manifest is written last and is the commit point: records of a run that
is not in the lineage (a publish killed half-way) are ignored when the folder is read back, so
rerunning the failed run publishes it exactly once. The manifest's `generation_id` and
`hf/.generation` name the last run published, so a push refuses an `hf/` whose run was never
committed; what a push uploads is this `hf/`, the whole dataset (`datagen.export.hub`).

Splits are stable: a published record never changes split. A new record that is a near
paraphrase of a published one (at the split's grouping threshold) joins that record's split; any
other new group is placed by a hash of its `dup_cluster`, which does not depend on what else was
generated that night.

A dataset folder is recognised by the `schema` in its manifest; `--append-to` anything else
that is not empty is refused, and so is one that is the run folder, inside it or around it.
Publishing and pushing hold the run folder's kind of lock on it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import xxhash

from datagen.checks.conformance import shape_counts
from datagen.config import RunConfig
from datagen.errors import ConfigError
from datagen.export.card import kinds_lines, markdown_table, schema_fields
from datagen.export.hf import GENERATION_FILE, write_hf
from datagen.export.openai import write_chat_jsonl
from datagen.export.split import GROUP_THRESHOLD, source_ids
from datagen.export.split import SPLITS as SPLIT_NAMES
from datagen.files import locked, read_json, read_parquet, write_json, write_parquet
from datagen.markup import md_text
from datagen.reasons import DropReason
from datagen.records import COLUMNS, kept
from datagen.similarity.pairs import ReferenceIndex, UnionFind, clusters

SCHEMA = "datagen-dataset/1"


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
            return {"schema": SCHEMA, "lineage": []}
        return read_manifest(self.manifest_path)

    def records(self) -> pd.DataFrame:
        """Committed records (with `split`); an empty frame for a new dataset."""
        lineage = {entry["run_id"] for entry in self.manifest()["lineage"]}
        if not lineage or not self.records_path.exists():
            return pd.DataFrame({**{c: pd.Series(dtype=t) for c, t in COLUMNS.items()},
                                 "split": pd.Series(dtype="string")})
        df = read_parquet(self.records_path, what="published records")
        return df[df["run_id"].isin(lineage)].reset_index(drop=True)


def read_manifest(path: Path) -> dict[str, Any]:
    data = read_json(path, what="manifest", fix="point at a folder datagen wrote")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a datagen manifest", hint="point at a folder datagen wrote")
    return data


def check_target(path: str | Path, out: str | Path | None = None) -> Path:
    """An `--append-to` folder that is absent, empty, or a dataset datagen published, and
    apart from the run folder `out`: the two share file names (`manifest.json`,
    `records.parquet`, `hf/`) and each is locked while written, so one inside the other would
    be refused only at publish time, after every paid call."""
    p = Path(os.path.abspath(os.path.expanduser(str(path))))
    if out is not None:
        check_apart(p, Path(os.path.abspath(os.path.expanduser(str(out)))))
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--append-to {p}: is a file, not a dataset folder",
                          hint="give a new folder or one that datagen appended to before")
    if p.is_dir() and any(p.iterdir()) and not is_dataset(p):
        raise ConfigError(f"--append-to {p}: not a dataset folder datagen appended to "
                          "(no manifest with a lineage)",
                          hint="give a new or empty folder, or one datagen appended to")
    return p


def check_apart(target: Path, out: Path) -> None:
    """A ConfigError when the dataset folder and the run folder are one, or one holds the
    other (symlinks resolved)."""
    t, o = target.resolve(), out.resolve()
    if t == o:
        what = f"--append-to {target} and --out {out} are the same folder"
    elif o in t.parents:
        what = f"--append-to {target} is inside --out {out}"
    elif t in o.parents:
        what = f"--out {out} is inside --append-to {target}"
    else:
        return
    raise ConfigError(what, hint="keep them apart: give the dataset its own folder beside the "
                                 "run folders, e.g. --out outputs/nightly-1 --append-to "
                                 "datasets/legal")


def is_dataset(path: Path) -> bool:
    """Whether `path` holds a dataset datagen appended to (a manifest with its schema)."""
    try:
        data = read_manifest(path / "manifest.json")
    except Exception:  # noqa: BLE001 - any unreadable manifest: not our dataset
        return False
    return data.get("schema") == SCHEMA and isinstance(data.get("lineage"), list)


def night(config: RunConfig) -> int:
    """How many runs the dataset appended to already holds (0 when not appending)."""
    return len(Published(config.append_to).manifest()["lineage"]) if config.append_to else 0


def prepare(config: RunConfig) -> RunConfig:
    """The config a run actually uses. Appending, each new night gets its own random seed, so
    the same nightly parameters ask new questions instead of replaying last night's cached
    answers; a failed night rerun gets the same seed again and so resumes from the cache."""
    n = night(config)
    return config.model_copy(update={"seed": config.seed + n}) if n else config


def bucket(key: str, validation: float, test: float = 0.0) -> str:
    """A split from a hash: the same key lands in the same split every night."""
    u = xxhash.xxh3_64_intdigest(key.encode()) / 2**64
    return "test" if u < test else "validation" if u < test + validation else "train"


def assign_splits(records: pd.DataFrame, published: pd.DataFrame, validation: float | int,
                  test: float | int = 0.0, threshold: float = GROUP_THRESHOLD,
                  min_validation: int = 0) -> pd.Series:
    """A split per kept record of this run, indexed like `records`; stable across nights.
    A split size given as a count (an int) is that many records of this run, on average."""
    live = kept(records)
    labels = pd.Series(pd.NA, index=live.index, dtype="string")
    if live.empty:
        return labels
    validation, test = (v if isinstance(v, float) else min(1.0, v / len(live))
                        for v in (validation, test))
    validation = max(validation, min(1.0, min_validation / len(live)))
    texts = live["instruction"].fillna("").tolist()
    roots = clusters(texts, threshold)
    sources = source_ids(live)
    if any(s is not None for s in sources):  # grounded: one chunk's or row's records together
        uf = UnionFind(len(live))
        first: dict[str, int] = {}
        for i, (root, source) in enumerate(zip(roots, sources, strict=True)):
            uf.union(root, i)
            if source is not None:
                uf.union(first.setdefault(source, i), i)
        roots = [uf.find(i) for i in range(len(live))]
    index = ReferenceIndex(published["instruction"].fillna("").astype(str).tolist())
    near = index.nearest(texts, threshold)
    pub_split = published["split"].astype(str).tolist()
    pub_source = {s: sp for s, sp in zip(source_ids(published), pub_split, strict=True)
                  if s is not None}
    keys = live["dup_cluster"].fillna(live["id"]).astype(str).tolist()
    by_root: dict[int, str] = {}
    for i, ref in enumerate(near.tolist()):  # a group touching a published record follows it
        if ref >= 0:
            by_root.setdefault(roots[i], pub_split[ref])
        elif sources[i] in pub_source:  # ... and so does one made from a published chunk
            by_root.setdefault(roots[i], pub_source[sources[i]])
    for i, root in enumerate(roots):
        if root not in by_root:
            by_root[root] = bucket(keys[root], validation, test)
        labels.iloc[i] = by_root[root]
    return labels


def publish(config: RunConfig, run_id: str, records: pd.DataFrame, labels: pd.Series,
            schemas: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Append this run's kept records to the dataset folder; return the new manifest.
    `schemas`: the output schema of each of this run's seeds that has one (the card states
    their fields)."""
    target = Published(config.append_to or "")
    target.root.mkdir(parents=True, exist_ok=True)
    with locked(target.root, "run (publish)"):
        return _publish(target, config, run_id, records, labels, schemas or {})


def _kinds(everything: pd.DataFrame, schemas: dict[str, Any]) -> dict[str, Any]:
    """What the card states of the dataset's kinds, over every published record: records per
    seed, the kept counts of `shape_counts` (tool-calling records, calls per tool, user turns)
    and the fields of the output schemas of seeds with records in it (`schemas`, by seed id;
    the last night's schema of a seed wins)."""
    seeds = everything["seed_id"].dropna().astype(str)
    shapes = shape_counts(everything)
    return {"per_seed": {k: int(v) for k, v in seeds.value_counts().sort_index().items()},
            "shapes": {k: shapes[k] for k in ("kept_calling_tools", "calls_per_tool",
                                              "kept_by_turns")},
            "output_schemas": {k: v for k, v in schemas.items() if k in set(seeds)}}


def _publish(target: Published, config: RunConfig, run_id: str, records: pd.DataFrame,
             labels: pd.Series, schemas: dict[str, Any]) -> dict[str, Any]:
    manifest = target.manifest()
    if any(e["run_id"] == run_id for e in manifest["lineage"]):
        return manifest  # already committed: publishing twice would duplicate the night
    duplicates = int((records["drop_reason"] == DropReason.PUBLISHED_DUPLICATE).sum())
    system_message = config.export.system_message
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
        "published_duplicates": duplicates,
    }
    manifest = {
        "schema": SCHEMA,
        "name": manifest.get("name") or target.root.name,
        "lineage": [*manifest["lineage"], entry],
        "counts": {name: len(df) for name, df in splits.items()} | {"total": len(everything)},
        "seeds": sorted(everything["seed_id"].dropna().astype(str).unique()),
        **_kinds(everything, {**manifest.get("output_schemas", {}),
                              **{k: schema_fields(v) for k, v in schemas.items()}}),
        "generation_id": run_id,  # as `hf/.generation`: a push checks the export is whole
        "pushes": manifest.get("pushes", []),
    }
    write_hf(splits, target.hf, card_body=card_body(manifest), system_message=system_message,
             card_meta={"license": config.export.license,
                        "tags": ["synthetic", "datagen", "incremental"]},
             assets=lambda folder: (folder / GENERATION_FILE).write_text(f"{run_id}\n"))
    write_json(target.manifest_path, manifest)  # the commit point
    return manifest


def card_body(manifest: dict[str, Any]) -> str:
    rows = [[e["created"], e["run_id"], *(e["added"].get(s, 0) for s in ("train", "validation")),
             e["published_duplicates"]] for e in manifest["lineage"]]
    counts = manifest["counts"]
    kinds = kinds_lines(manifest.get("shapes"), manifest.get("output_schemas") or {},
                        manifest.get("per_seed") or {}, counts["total"])
    return "\n".join([
        f"# {md_text(manifest['name'])}", "",
        "Synthetic instruction/response pairs grown run by run with datagen. New pairs are "
        "deduplicated against everything already published; a published pair never changes "
        "split.", "", *kinds,
        "## Splits",
        markdown_table(["split", "pairs"], [[k, v] for k, v in counts.items() if k != "total"]),
        "", "## Lineage",
        markdown_table(["created", "run", "train added", "validation added",
                        "duplicates of published"], rows), "",
    ])
