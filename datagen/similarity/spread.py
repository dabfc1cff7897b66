"""Near-duplicate candidates over a cluster, from texts and sketches written per partition.

A pass too large for one process (curation's dedup, the split's grouping and leakage check)
keeps its records in Parquet: a partition is a run of the file's row groups (`Part`), and the
task that reads it writes what the comparisons need to a work folder that every worker reads,
a file per partition and kind: the texts to compare (`save_texts`: Arrow IPC, read back row by
row through a memory map, `texts_at`) and their MinHash sketch (`save_sketch`: band keys band
by band, and marks). Then one task per band (`band_task`) forms that band's buckets over an
index space the driver chose, a `.npy` of record positions in index order, and gives its
candidate pairs as `minhash.bucket_pairs` does in one process; `verified_at` scores candidate
pairs with rapidfuzz on the texts they involve only.

A record is named by its global position: its row in the source file, partition after
partition. The client is any object with Dask's `map`, `submit` and `gather` (`Cluster`, a
`distributed.Client`): datagen itself does not import Dask, which stays an optional extra.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.progress import StageProgress
from datagen.similarity.minhash import (
    LSHParams,
    Sketch,
    band_codes,
    estimated_similar,
    sorted_unique,
)
from datagen.similarity.pairs import verified

PART_ROWS = 100_000  # a partition's records: its text views and sketch stay well under 1 GB
MAPPED_MAX = 512 * 2**20  # sketch-file pages a band task keeps mapped in before giving back


class Cluster(Protocol):
    """The part of `distributed.Client` the cluster passes use."""

    def scatter(self, data: Any) -> Any: ...
    def map(self, func: Any, *iterables: Any, **kwargs: Any) -> Any: ...
    def submit(self, func: Any, *args: Any, **kwargs: Any) -> Any: ...
    def gather(self, futures: Any) -> Any: ...
    def nthreads(self) -> dict[str, int]: ...


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


def part_rows(records: int, client: Cluster) -> int:
    """Records per partition for a pass over `records`: one partition per worker thread at
    least, and at most `PART_ROWS`."""
    threads = sum(client.nthreads().values())
    return max(1, min(PART_ROWS, -(-records // max(1, threads))))


def read_part(source: Path, part: Part, columns: list[str] | None = None) -> pd.DataFrame:
    frame = pq.ParquetFile(source).read_row_groups(list(part.groups), columns=columns) \
        .to_pandas()
    frame.index = pd.RangeIndex(part.start, part.start + len(frame))
    return frame


def part_file(work: Path, part: Part, name: str) -> Path:
    """The work file of kind `name` of a partition (`parquet`, `texts.arrow`, ...)."""
    return work / f"part-{part.number:05d}.{name}"


def save_texts(path: Path, texts: list[str]) -> None:
    """Texts as one Arrow IPC column, which `texts_at` reads row by row, mapped."""
    table = pa.table({"text": pa.array(texts, type=pa.large_string())})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def save_sketch(work: Path, part: Part, sk: Sketch, prefix: str = "") -> None:
    """A partition's sketch: band keys band by band (a band task reads one row), marks."""
    np.save(part_file(work, part, f"{prefix}bands.npy"), np.ascontiguousarray(sk.keys.T))
    np.save(part_file(work, part, f"{prefix}marks.npy"), sk.marks)


class Disk:
    """The partitions' work files, read by global record position. Each file is mapped
    once; once reads have touched `MAPPED_MAX` bytes of pages, they are given back: they stay
    in the page cache, not in this worker's resident memory, which its `memory_limit` counts
    (10M records' marks are 2.4 GB)."""

    def __init__(self, work: Path, parts: list[Part]) -> None:
        self.work = work
        self.parts = parts
        self.starts = np.array([p.start for p in parts])
        self._mapped: dict[tuple[int, str], tuple[mmap.mmap, np.ndarray]] = {}
        self._touched = 0  # bytes of mapped pages read since they were last given back

    def path(self, p: int, name: str) -> Path:
        return part_file(self.work, self.parts[p], name)

    def _where(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = np.searchsorted(self.starts, positions, side="right") - 1
        return part, positions - self.starts[part]

    def _map(self, p: int, name: str) -> tuple[mmap.mmap, np.ndarray]:
        """A `.npy` file as an array over a read-only map of it."""
        if (p, name) not in self._mapped:
            with open(self.path(p, name), "rb") as f:
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
        are in `positions`, and their rows in the partition. One sort of the partition
        numbers (a radix sort: they are small integers), however many partitions there are."""
        part, local = self._where(positions)
        order = np.argsort(part.astype(np.uint16) if len(self.parts) < 2**16 else part,
                           kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self.parts) + 1))
        return [(p, order[lo:hi], local[order[lo:hi]]) for p, (lo, hi) in
                enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)) if hi > lo]

    def gather(self, name: str, positions: np.ndarray, band: int | None = None) -> np.ndarray:
        """Rows of a `.npy` kind at these positions (of its row `band`: a band's keys)."""
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

    def rows(self, positions: np.ndarray, name: str, columns: list[str]) -> pd.DataFrame:
        """`columns` of a Parquet kind for the records at these positions, in their order."""
        out: list[pd.DataFrame] = []
        where: list[np.ndarray] = []
        for p, sel, rows in self.by_part(positions):
            table = pq.read_table(self.path(p, name), columns=columns)
            out.append(table.take(pa.array(rows)).to_pandas())
            where.append(sel)
        if not out:
            return pd.DataFrame(columns=columns)
        frame = pd.concat(out, ignore_index=True)
        return frame.iloc[np.argsort(np.concatenate(where))].reset_index(drop=True)

    def texts(self, positions: np.ndarray, name: str = "texts.arrow") -> list[str]:
        """The texts `save_texts` wrote, at these positions, in their order; each file is
        mapped, so only the rows asked for are copied out of it."""
        out = np.empty(len(positions), dtype=object)
        for p, sel, rows in self.by_part(positions):
            with pa.memory_map(str(self.path(p, name))) as source:
                column = pa.ipc.open_file(source).read_all().column("text")
                out[sel] = column.take(pa.array(rows)).to_pylist()
        return out.tolist()


def verified_at(pairs: np.ndarray, threshold: float, *, work: Path, parts: list[Part],
                name: str = "texts.arrow") -> np.ndarray:
    """The pairs of record positions whose texts (kind `name`) score >= threshold with
    `fuzz.ratio`, in their order: `pairs.verified` on the texts they involve only."""
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    involved, local = np.unique(pairs.ravel(), return_inverse=True)
    texts = Disk(work, parts).texts(involved, name)
    ok, _ = verified(texts, texts, local.reshape(pairs.shape), threshold)
    return involved[ok]


def save_space(work: Path, name: str, positions: np.ndarray, nonempty: np.ndarray) -> None:
    """An index space for band tasks: the record at each index (global positions), and the
    indexes whose texts are not empty (ascending)."""
    np.save(work / f"{name}.positions.npy", positions)
    np.save(work / f"{name}.nonempty.npy", nonempty)


def band_task(band: int, *, work: Path, parts: list[Part], params: LSHParams, space: str,
              prefix: str = "", groups: str | None = None) -> np.ndarray:
    """One band's candidate codes `i * n + j` (i < j) over the index space `space`, from the
    sketch files `prefix`*: the texts sharing the band's bucket, each with the next `window`
    of its bucket in index order, kept when their signatures estimate Jaccard >=
    `params.min_jaccard` (`minhash.band_codes`). `groups`: a `.npy` of a group label per
    index; pairs inside one group are dropped before their signatures are compared."""
    positions = np.load(work / f"{space}.positions.npy")
    idx = np.load(work / f"{space}.nonempty.npy")
    label = None if groups is None else np.load(work / groups)
    disk = Disk(work, parts)
    keys = disk.gather(f"{prefix}bands.npy", positions[idx], band)

    def similar(pairs: np.ndarray) -> np.ndarray:
        keep = np.ones(len(pairs), dtype=bool) if label is None else \
            label[pairs[:, 0]] != label[pairs[:, 1]]
        if params.min_jaccard > 0 and keep.any():
            keep[keep] = estimated_similar(lambda rows: disk.gather(
                f"{prefix}marks.npy", positions[rows]), pairs[keep], params)
        return keep

    return sorted_unique(band_codes(keys, idx, len(positions), params,
                                    similar if label is not None or params.min_jaccard > 0
                                    else None))


def map_tasks(client: Cluster, label: str, fn: Any, *iterables: Any) -> list[Any]:
    """`fn` mapped over the cluster, with progress as its tasks finish."""
    futures = client.map(fn, *iterables, pure=False)
    with StageProgress(label, len(futures)) as tick:
        for future in futures:
            future.add_done_callback(lambda _: tick())
        return list(client.gather(futures))
