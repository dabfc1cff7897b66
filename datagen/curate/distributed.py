"""Curation of a records file larger than one process holds, on a Dask cluster, with the
verdicts `datagen.curate.runner.curate` gives in one pass.

The records stay in Parquet: a partition is a run of the file's row groups, read by the worker
that curates it (the partitions, their work files and the band tasks are
`datagen.similarity.spread`'s, which the split on a cluster shares). In four steps, no process
ever holds every record:

1. **Partitions** (a task each): the record-local checks (`runner.LOCAL`), dedup's
   record-by-record part (exact key, token-sorted text, MinHash sketch: `dedup.prepare`) and
   the published-set lookup, which compares a record with outside texts only. The judged
   partition and its sketch go to the work folder; the driver gets what ranking needs: which
   records are live, answered, their judge and quality scores, ids, seeds and exact keys.
2. **Buckets** (a task per band): texts that share a band's bucket (keys read from the
   partitions' sketch files) are candidate pairs, filtered by their signature estimate, as
   `minhash.bucket_pairs` does in one process.
3. **Driver**: candidate pairs verified with `fuzz.ratio` on the texts they involve, then the
   best-first resolution of `dedup.resolve` over the live records' ranks, the published
   verdicts and the surplus cut per seed.
4. **Write** (a task per partition): each partition's verdicts applied and written to `dest`.

A small pass (all pairs, not MinHash) verifies its candidates on the driver too. The work
folder is removed at the end. Source, work and dest must be on storage every worker reads.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.checks import human, surplus
from datagen.checks.check import Context, Texts
from datagen.checks.duplicates import dedup, quality, references
from datagen.config import CurationConfig
from datagen.curate import runner
from datagen.curate.outside import References
from datagen.files import write_parquet
from datagen.reasons import DropReason
from datagen.records import json_column
from datagen.similarity.minhash import sorted_unique
from datagen.similarity.pairs import lsh_for, prepared_pairs, uses_minhash
from datagen.similarity.spread import (
    PART_ROWS,
    Cluster,
    Disk,
    Part,
    band_task,
    map_tasks,
    part_file,
    part_rows,
    parts_of,
    read_part,
    save_sketch,
    save_space,
    save_texts,
    verified_at,
)

RANKED = ["instruction", "response", "metadata"]  # the columns best-first ranking reads


def _judge_part(part: Part, *, source: Path, work: Path, cfg: CurationConfig,
                refs: References, seed: int, rows: int) -> dict[str, Any]:
    """Step 1 for one partition (see the module docstring)."""
    out = runner.reset(read_part(source, part))
    names = tuple(c.name for c in runner.LOCAL)
    dedup_on = dedup.CHECK.name not in cfg.skip
    judged, made = runner._sliced(out, cfg=cfg, refs=refs, seed=seed, names=names,
                                  columns=tuple(out.columns),
                                  prepared=(dedup.CHECK.name,) if dedup_on else (), rows=rows)
    scores = judged["scores"]
    texts = Texts(judged)
    ctx = Context(frame=judged, texts=texts, cfg=cfg, refs=refs, scores=scores, seed=seed)
    live = np.array(judged["keep"].fillna(False).astype(bool), dtype=bool)
    if human.CHECK.name not in cfg.skip and human.CHECK.active(ctx):
        protect = human.CHECK.run(ctx).protect
        if protect is not None:
            live &= ~protect.fillna(False).astype(bool).to_numpy()
    rows_live = judged.index[live]
    q = quality.stored(scores.loc[rows_live])
    if q is None and dedup_on and len(rows_live):  # dedup scores the live records itself
        view = judged.loc[rows_live]
        q = quality.heuristic(view, texts.take(view), scores.loc[rows_live]).round(
            quality.DIGITS)
        for i, value in zip(rows_live, q.tolist(), strict=True):
            scores.at[i] = {**scores.at[i], "quality": value}
    published: dict[int, str] = {}
    check = references.PUBLISHED
    if check.name not in cfg.skip and check.active(ctx) and len(rows_live):
        view = judged.loc[rows_live]
        found = check.run(Context(frame=view, texts=texts.take(view), cfg=cfg, refs=refs,
                                  scores=scores.loc[rows_live], seed=seed))
        hit = found.reason.notna()
        published = {int(i): str(found.lost_to.at[i]) for i in hit.index[hit]}
    judged["scores"] = json_column(scores)
    write_parquet(part_file(work, part, "parquet"), judged)
    key = np.zeros(len(judged), dtype=np.uint64)
    if dedup_on:
        prep: dedup.Prepared = made[dedup.CHECK.name]
        key = prep.keys()
        save_texts(part_file(work, part, "texts.arrow"), prep.texts())
        sk = prep.sketched()
        if sk is not None:
            save_sketch(work, part, sk)
    judge = quality.judge_score(scores, judged.index)
    return {"live": live, "key": key, "answered": judged["response"].notna().to_numpy(),
            "judge": judge, "quality": np.zeros(len(judged)) if q is None else
            _spread(q, rows_live, judged.index), "id": pa.array(judged["id"].astype(str)),
            "seed": pa.array(judged["seed_id"].astype(str)), "published": published,
            "empty": np.zeros(len(judged), bool) if not dedup_on or made[dedup.CHECK.name]
            .sketched() is None else made[dedup.CHECK.name].sketched().empty.copy()}


def _spread(values: pd.Series, rows: pd.Index, index: pd.Index) -> np.ndarray:
    out = np.zeros(len(index))
    out[index.get_indexer(rows)] = values.to_numpy(dtype=float)
    return out


def _write_part(part: Part, verdicts: dict[str, Any], *, work: Path, dest: Path) -> int:
    """Step 4 for one partition: its dedup, published and surplus verdicts, then stored."""
    frame = pd.read_parquet(part_file(work, part, "parquet"))
    frame.index = pd.RangeIndex(part.start, part.start + len(frame))
    rows = frame.index[verdicts["rows"]]
    if len(rows):
        frame.loc[rows, "dup_cluster"] = verdicts["cluster"]
    dropped = frame.index[verdicts["dropped"]]
    if len(dropped):
        frame.loc[dropped, "keep"] = False
        frame.loc[dropped, "drop_reason"] = verdicts["reason"]
        lost = np.array(verdicts["lost_to"], dtype=object)
        has = np.array([x is not None for x in verdicts["lost_to"]], dtype=bool)
        if has.any():
            frame.loc[dropped[has], "lost_to"] = lost[has]
    frame["dup_cluster"] = frame["dup_cluster"].fillna(frame["id"])
    write_parquet(dest / f"part-{part.number:05d}.parquet", frame)
    return int(frame["keep"].sum())


def curate_files(source: Path, dest: Path, cfg: CurationConfig, client: Cluster, *,
                 refs: References | None = None, targets: dict[str, int] | None = None,
                 seed: int = 0, part_rows: int = PART_ROWS,
                 work: Path | None = None) -> dict[str, int]:
    """Curate the records of the Parquet file `source` into `dest` (a folder of Parquet
    parts, one per partition, in order); counts of records and kept ones."""
    refs = refs or References()
    dest.mkdir(parents=True, exist_ok=True)
    work = work or dest / ".work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        parts = parts_of(source, part_rows)
        total = sum(p.rows for p in parts)
        judge = functools.partial(_judge_part, source=source, work=work, cfg=cfg, refs=refs,
                                  seed=seed, rows=total)
        infos = map_tasks(client, "curate partitions", judge, parts)
        final = _decide(infos, parts, work, cfg, client, targets)
        write = functools.partial(_write_part, work=work, dest=dest)
        kept = map_tasks(client, "write partitions", write, parts, final)
        return {"records": total, "kept": int(sum(kept))}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _decide(infos: list[dict[str, Any]], parts: list[Part], work: Path, cfg: CurationConfig,
            client: Cluster, targets: dict[str, int] | None) -> list[dict[str, Any]]:
    """Step 3: the verdicts of dedup, the published set and the surplus, per partition."""
    live = np.concatenate([i["live"] for i in infos])
    n = len(live)
    reason = np.full(n, None, dtype=object)
    lost_to = np.full(n, None, dtype=object)
    cluster_rows = np.zeros(0, dtype=np.int64)
    cluster_ids: np.ndarray = np.zeros(0, dtype=object)
    ids = pa.chunked_array([i["id"] for i in infos])
    if dedup.CHECK.name not in cfg.skip:
        at = np.flatnonzero(live)  # global positions of the live records
        group, distinct = dedup.texts_of(np.concatenate([i["key"] for i in infos])[at])
        pairs = _near_pairs(at[distinct], np.concatenate([i["empty"] for i in infos])[
            at[distinct]], parts, work, cfg, client)
        answered = np.concatenate([i["answered"] for i in infos])[at]
        judge = np.concatenate([i["judge"] for i in infos])[at]
        q = np.concatenate([i["quality"] for i in infos])[at]
        # ranked as `quality.best_first` ranks
        q = np.round(quality.grouped(q, group, answered, lambda rows: Texts(
            Disk(work, parts).rows(at[rows], "parquet", RANKED))), quality.DIGITS)
        id_rank = np.empty(len(at), dtype=np.int64)
        id_rank[np.asarray(pc.sort_indices(ids.take(pa.array(at))))] = np.arange(len(at))
        order = np.lexsort((id_rank, -q, -judge, ~answered))
        winner = dedup.resolve(group, pairs, order)
        why = dedup.reasons(group, winner)
        winner_ids = np.asarray(ids.take(pa.array(at[winner])).to_pylist(), dtype=object)
        lost = winner != np.arange(len(at))
        reason[at[lost]] = why[lost]
        lost_to[at[lost]] = winner_ids[lost]
        live[at[lost]] = False
        cluster_rows, cluster_ids = at, winner_ids
    for info in infos:
        for i, found in info["published"].items():
            if live[i]:
                reason[i], lost_to[i], live[i] = str(DropReason.PUBLISHED_DUPLICATE), found, False
    if targets is not None and surplus.CHECK.name not in cfg.skip:
        at = np.flatnonzero(live)
        seeds = pa.chunked_array([i["seed"] for i in infos]).take(pa.array(at))
        answered = np.concatenate([i["answered"] for i in infos])[at]
        cut = surplus.cut(pd.Series(seeds.to_pylist(), dtype=object), pd.Series(answered),
                          targets).to_numpy()
        reason[at[cut]] = str(DropReason.SURPLUS)
    final = []
    for part in parts:
        lo, hi = part.start, part.start + part.rows
        dropped = np.flatnonzero(reason[lo:hi] != None)  # noqa: E711 - elementwise on objects
        inside = (cluster_rows >= lo) & (cluster_rows < hi)
        final.append({"rows": cluster_rows[inside] - lo, "cluster": cluster_ids[inside],
                      "dropped": dropped, "reason": reason[lo:hi][dropped],
                      "lost_to": lost_to[lo:hi][dropped].tolist()})
    return final


def _near_pairs(first: np.ndarray, empty: np.ndarray, parts: list[Part], work: Path,
                cfg: CurationConfig, client: Cluster) -> np.ndarray:
    """Near pairs (i < j) among the distinct live texts, whose first records are at global
    positions `first` (ascending): `dedup`'s `prepared_pairs`, spread over the cluster."""
    d = cfg.dedup
    disk = Disk(work, parts)
    if not uses_minhash(len(first), d.near_threshold, d.method, d.allpairs_max):
        return prepared_pairs(disk.texts(first), d.near_threshold, method=d.method,
                              allpairs_max=d.allpairs_max)
    params = lsh_for(d.near_threshold)
    save_space(work, "dedup", first, np.flatnonzero(~empty))
    band = functools.partial(band_task, work=work, parts=parts, params=params, space="dedup")
    codes = map_tasks(client, "dedup bands", band, range(params.bands))
    found = sorted_unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    cand = np.stack([found // len(first), found % len(first)], axis=1)
    ok = verified_at(first[cand], d.near_threshold, work=work, parts=parts)
    return np.searchsorted(first, ok)


def curate_through_files(records: pd.DataFrame, cfg: CurationConfig, client: Cluster,
                         folder: Path, *, refs: References | None = None,
                         targets: dict[str, int] | None = None,
                         seed: int = 0) -> pd.DataFrame:
    """`curate(records, ...)` on the cluster: the records go to Parquet in `folder` (removed
    after), the cluster reads and curates them in partitions (`curate_files`; one per worker
    thread at least), and the result comes back as one frame with the records' index."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = part_rows(len(records), client)
    try:
        source = folder / "records.parquet"
        records.to_parquet(source, index=False, row_group_size=rows)
        curate_files(source, folder / "curated", cfg, client, refs=refs, targets=targets,
                     seed=seed, part_rows=rows)
        out = read_curated(folder / "curated")
        out.index = records.index
        return out.astype(records.dtypes.to_dict())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_curated(dest: Path) -> pd.DataFrame:
    """The records `curate_files` wrote, in order."""
    parts = [pd.read_parquet(p) for p in sorted(dest.glob("part-*.parquet"))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
