"""Curation of a records file larger than one process holds, on a Dask cluster, with the
verdicts `datagen.curate.runner.curate` gives in one pass.

The records stay in Parquet: a partition is a run of the file's row groups, read by the worker
that curates it. In four steps, no process ever holds every record:

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
import mmap
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datagen.checks import human, surplus
from datagen.checks.check import Context, Texts
from datagen.checks.duplicates import dedup, quality, references
from datagen.config import CurationConfig
from datagen.curate import runner
from datagen.curate.outside import References
from datagen.curate.partitioned import Cluster
from datagen.files import write_parquet
from datagen.progress import StageProgress
from datagen.reasons import DropReason
from datagen.records import json_column
from datagen.similarity.minhash import LSHParams, band_codes, estimated_similar, sorted_unique
from datagen.similarity.pairs import lsh_for, prepared_pairs, uses_minhash, verified

PART_ROWS = 100_000  # a partition's records: its text views and sketch stay well under 1 GB
RANKED = ["instruction", "response", "metadata"]  # the columns best-first ranking reads
MAPPED_MAX = 512 * 2**20  # sketch-file pages a band task keeps mapped in before giving back


@dataclass(frozen=True)
class Part:
    """Consecutive row groups of the source file, from record `start` on."""

    number: int
    groups: tuple[int, ...]
    start: int
    rows: int


def parts_of(source: Path, rows: int = PART_ROWS) -> list[Part]:
    """The file's row groups in runs of about `rows` records."""
    meta = pq.ParquetFile(source).metadata
    parts: list[Part] = []
    groups: list[int] = []
    start = count = 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        count += meta.row_group(g).num_rows
        if count >= rows or g == meta.num_row_groups - 1:
            parts.append(Part(len(parts), tuple(groups), start, count))
            start, groups, count = start + count, [], 0
    return parts


def read_part(source: Path, part: Part) -> pd.DataFrame:
    frame = pq.ParquetFile(source).read_row_groups(list(part.groups)).to_pandas()
    frame.index = pd.RangeIndex(part.start, part.start + len(frame))
    return frame


def _files(work: Path, part: Part) -> dict[str, Path]:
    stem = work / f"part-{part.number:05d}"
    return {name: stem.with_suffix(f".{name}") for name in
            ("parquet", "bands.npy", "marks.npy", "sorted.parquet")}


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
    files = _files(work, part)
    write_parquet(files["parquet"], judged)
    key = np.zeros(len(judged), dtype=np.uint64)
    if dedup_on:
        prep: dedup.Prepared = made[dedup.CHECK.name]
        key = prep.keys()
        pq.write_table(pa.table({"sorted": pa.array(prep.texts(), type=pa.large_string())}),
                       files["sorted.parquet"])
        sk = prep.sketched()
        if sk is not None:
            np.save(files["bands.npy"], np.ascontiguousarray(sk.keys.T))  # band by band
            np.save(files["marks.npy"], sk.marks)
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


class _Disk:
    """The partitions' sketch files, read by global record position. Each file is mapped
    once; once reads have touched `MAPPED_MAX` bytes of pages, they are given back: they stay
    in the page cache, not in this worker's resident memory, which its `memory_limit` counts
    (10M records' marks are 2.4 GB)."""

    def __init__(self, work: Path, parts: list[Part]) -> None:
        self.parts = parts
        self.starts = np.array([p.start for p in parts])
        self.files = [_files(work, p) for p in parts]
        self._mapped: dict[tuple[int, str], tuple[mmap.mmap, np.ndarray]] = {}
        self._touched = 0  # bytes of mapped pages read since they were last given back

    def _where(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = np.searchsorted(self.starts, positions, side="right") - 1
        return part, positions - self.starts[part]

    def _map(self, p: int, name: str) -> tuple[mmap.mmap, np.ndarray]:
        """A `.npy` file as an array over a read-only map of it."""
        if (p, name) not in self._mapped:
            with open(self.files[p][name], "rb") as f:
                version = np.lib.format.read_magic(f)
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f)
                                         if version == (1, 0) else
                                         np.lib.format.read_array_header_2_0(f))
                start = f.tell()
                pages = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            data = np.frombuffer(pages, dtype=dtype, count=int(np.prod(shape)), offset=start)
            self._mapped[p, name] = (pages, data.reshape(shape, order="F" if fortran else "C"))
        return self._mapped[p, name]

    def by_part(self, positions: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Per partition that holds some of `positions`: its number, where those positions
        are in `positions`, and their rows in the partition (ascending, so a mapped file is
        read front to back). One sort, however many partitions there are."""
        part, local = self._where(positions)
        order = np.lexsort((local, part))
        bounds = np.searchsorted(part[order], np.arange(len(self.parts) + 1))
        return [(p, order[lo:hi], local[order[lo:hi]]) for p, (lo, hi) in
                enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)) if hi > lo]

    def gather(self, name: str, positions: np.ndarray, band: int | None = None) -> np.ndarray:
        out: np.ndarray | None = None
        for p, sel, rows in self.by_part(positions):
            pages, data = self._map(p, name)
            got = (data[band] if band is not None else data)[rows]
            self._touched += min(len(pages), len(rows) * mmap.PAGESIZE)
            if out is None:
                out = np.empty((len(positions), *got.shape[1:]), dtype=got.dtype)
            out[sel] = got
        if self._touched > MAPPED_MAX and hasattr(mmap, "MADV_DONTNEED"):
            for pages, _ in self._mapped.values():
                pages.madvise(mmap.MADV_DONTNEED)
            self._touched = 0
        assert out is not None
        return out


def _band(band: int, *, work: Path, parts: list[Part], params: LSHParams) -> np.ndarray:
    """Step 2 for one band: candidate codes over the distinct live texts (`distinct.npy`)."""
    distinct = np.load(work / "distinct.npy")
    idx = np.load(work / "nonempty.npy")
    disk = _Disk(work, parts)
    keys = disk.gather("bands.npy", distinct[idx], band)
    similar = None if params.min_jaccard <= 0 else (lambda pairs: estimated_similar(
        lambda rows: disk.gather("marks.npy", distinct[rows]), pairs, params))
    return sorted_unique(band_codes(keys, idx, len(distinct), params, similar))


def _rows(work: Path, parts: list[Part], positions: np.ndarray, file: str,
          columns: list[str]) -> pd.DataFrame:
    """`columns` of one of each part's files (`parquet`: the judged records, `sorted.parquet`:
    their token-sorted texts) for the records at these global positions, in their order."""
    disk = _Disk(work, parts)
    out: list[pd.DataFrame] = []
    where: list[np.ndarray] = []
    for p, sel, rows in disk.by_part(positions):
        table = pq.read_table(disk.files[p][file], columns=columns)
        out.append(table.take(pa.array(rows)).to_pandas())
        where.append(sel)
    if not out:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(out, ignore_index=True)
    return frame.iloc[np.argsort(np.concatenate(where))].reset_index(drop=True)


def _texts(work: Path, parts: list[Part], positions: np.ndarray) -> list[str]:
    return _rows(work, parts, positions, "sorted.parquet", ["sorted"])["sorted"].tolist()


def _write_part(part: Part, verdicts: dict[str, Any], *, work: Path, dest: Path) -> int:
    """Step 4 for one partition: its dedup, published and surplus verdicts, then stored."""
    frame = pd.read_parquet(_files(work, part)["parquet"])
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
        infos = _tasks(client, "curate partitions", judge, parts)
        final = _decide(infos, parts, work, cfg, client, targets)
        write = functools.partial(_write_part, work=work, dest=dest)
        kept = _tasks(client, "write partitions", write, parts, final)
        return {"records": total, "kept": int(sum(kept))}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _tasks(client: Cluster, label: str, fn: Any, *iterables: Any) -> list[Any]:
    """`fn` mapped over the cluster, with progress as its tasks finish."""
    futures = client.map(fn, *iterables, pure=False)
    with StageProgress(label, len(futures)) as tick:
        for future in futures:
            future.add_done_callback(lambda _: tick())
        return list(client.gather(futures))


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
            _rows(work, parts, at[rows], "parquet", RANKED))), quality.DIGITS)
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
    if not uses_minhash(len(first), d.near_threshold, d.method, d.allpairs_max):
        return prepared_pairs(_texts(work, parts, first), d.near_threshold, method=d.method,
                              allpairs_max=d.allpairs_max)
    params = lsh_for(d.near_threshold)
    np.save(work / "distinct.npy", first)
    np.save(work / "nonempty.npy", np.flatnonzero(~empty))
    band = functools.partial(_band, work=work, parts=parts, params=params)
    codes = _tasks(client, "dedup bands", band, range(params.bands))
    found = sorted_unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    cand = np.stack([found // len(first), found % len(first)], axis=1)
    involved = np.unique(cand.ravel())
    texts = _texts(work, parts, first[involved])
    local = np.searchsorted(involved, cand)
    ok, _ = verified(texts, texts, local, d.near_threshold)
    return involved[ok]


def curate_through_files(records: pd.DataFrame, cfg: CurationConfig, client: Cluster,
                         folder: Path, *, refs: References | None = None,
                         targets: dict[str, int] | None = None,
                         seed: int = 0) -> pd.DataFrame:
    """`curate(records, ...)` on the cluster: the records go to Parquet in `folder` (removed
    after), the cluster reads and curates them in partitions (`curate_files`; one per worker
    thread at least), and the result comes back as one frame with the records' index."""
    folder.mkdir(parents=True, exist_ok=True)
    threads = sum(client.nthreads().values())
    part_rows = max(1, min(PART_ROWS, -(-len(records) // max(1, threads))))
    try:
        source = folder / "records.parquet"
        records.to_parquet(source, index=False, row_group_size=part_rows)
        curate_files(source, folder / "curated", cfg, client, refs=refs, targets=targets,
                     seed=seed, part_rows=part_rows)
        out = read_curated(folder / "curated")
        out.index = records.index
        return out.astype(records.dtypes.to_dict())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_curated(dest: Path) -> pd.DataFrame:
    """The records `curate_files` wrote, in order."""
    parts = [pd.read_parquet(p) for p in sorted(dest.glob("part-*.parquet"))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
