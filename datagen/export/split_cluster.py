"""The split's near-duplicate search on a Dask cluster, with the pairs, so the groups and the
labels, that one process gives.

`datagen.export.split` looks for near-duplicate instructions twice (the grouping, then the
leakage check) through a `Finder`. Under `orchestration.task_runner: dask`, a large split
stage uses `ClusterFinder`: the kept records' user sides go to Parquet in a work folder, and
the work per text runs on the workers, partition by partition (`datagen.similarity.spread`,
the machinery curation's dedup uses). The driver (the stage's task) computes nothing per
text: it holds integer positions, group labels and candidate codes.

1. **Texts** (a task per partition): each record's user side, token-sorted, written to the
   work folder; a sample of them comes back.
2. **Order** (a task per partition, then one per range): a sample sort. The driver picks
   splitters from the samples; each partition notes the range of each of its texts; each
   range task sorts its texts and gives back their positions in order, and where a text
   equals the one before.
3. **Sketches** (a task per partition and draw): the draw's MinHash sketch of each text.
4. **Bands** (a task per band, a few ahead of the driver): the band's candidate pairs over
   the search's index order, with the signature estimate (`spread.band_task`).
5. **Driver**: `grouping.join_draws`, the loop one process runs: per band, the candidates
   still in different groups, chunk by chunk, each chunk verified with rapidfuzz by tasks
   that read the texts involved only (`spread.verified_at`), and joined into the groups
   before the next chunk.

Why the pairs equal one process's (`grouping_pairs`), and with them the groups, the labels
(`assign` draws from the same groups) and the leakage check's counts:

- The same texts: `user_texts` and `token_sort`, record by record.
- The same index order: one process sorts the frame's texts in Python's string order, ties
  in frame order (`grouping.lexicographic`); the range tasks sort in that same order (numpy
  over Python strings), ties in file order, and a splitter sends equal texts to one range, so
  a run of equal texts is whole in one range; the driver then puts each run in frame order.
- The same candidates: a sketch is a function of the text and the draw's parameters alone
  (`grouping.draw_lsh`: shingle, bands, rows, hash seed); `minhash.band_codes` pairs each
  text with the next `window` of its bucket in index order, here as there; the estimate is a
  test of one pair. One process estimates only the pairs still in different groups, a band
  task estimates all of them and the driver drops those in one group: the same sorted codes.
- The same verdicts in the same order: `pairs.verified` on the same texts, chunks of
  `JOIN_CHUNK` in the same order, the groups joined after each, by the same `join_draws`.

The work folder is removed at the end; it must be on storage every worker reads.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datagen.export.split import Finder, in_process, narrow
from datagen.records import kept, user_texts
from datagen.similarity.grouping import BandCodes, apart, join_draws
from datagen.similarity.minhash import LSHParams, sketch
from datagen.similarity.pairs import ALLPAIRS_MAX
from datagen.similarity.spread import (
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
from datagen.text import token_sort

SAMPLES = 64  # texts a partition offers for the splitters of the sort
BANDS_AHEAD = 4  # band tasks per worker thread submitted ahead of the band the driver is on
COLUMNS = ["instruction", "metadata"]  # what `user_texts` reads


def _texts_task(part: Part, *, source: Path, work: Path) -> list[str]:
    """Step 1: a partition's token-sorted user sides, written; evenly spaced ones back."""
    texts = [token_sort(t) for t in user_texts(read_part(source, part, COLUMNS))]
    save_texts(part_file(work, part, "texts.arrow"), texts)
    ordered = sorted(texts)
    return [ordered[k * len(ordered) // SAMPLES] for k in range(SAMPLES)] if ordered else []


def _all_texts(work: Path, part: Part) -> np.ndarray:
    positions = np.arange(part.start, part.start + part.rows)
    return np.asarray(Disk(work, [part]).texts(positions), dtype=object)


def _range_task(part: Part, *, work: Path, splitters: np.ndarray) -> None:
    """Step 2, per partition: its rows grouped by range (`ranges.npy`: the rows, range by
    range, ascending in each, then where each range starts)."""
    where = np.searchsorted(splitters, _all_texts(work, part), side="right")
    rows = np.argsort(where, kind="stable")
    bounds = np.searchsorted(where[rows], np.arange(len(splitters) + 2))
    np.save(part_file(work, part, "ranges.npy"), np.concatenate([rows, bounds]))


def _sort_task(r: int, *, work: Path, parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    """Step 2, per range: its texts' positions in string order (ties: by position), and
    whether each text equals the one before."""
    positions, texts = [], []
    disk = Disk(work, parts)
    for part in parts:
        saved = np.load(part_file(work, part, "ranges.npy"))
        rows, bounds = saved[:part.rows], saved[part.rows:]
        at = part.start + rows[bounds[r]:bounds[r + 1]]
        positions.append(at)
        texts.extend(disk.texts(at))
    at = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    ranked = np.asarray(texts, dtype=object)
    order = np.argsort(ranked, kind="stable")
    ranked = ranked[order]
    same = np.zeros(len(ranked), dtype=bool)
    same[1:] = ranked[1:] == ranked[:-1]
    return at[order], same


def _sketch_task(part: Part, *, work: Path, lsh: LSHParams, prefix: str) -> np.ndarray:
    """Step 3: a partition's sketch for one draw, written; which of its texts are empty."""
    sk = sketch(_all_texts(work, part).tolist(), lsh)
    save_sketch(work, part, sk, prefix)
    return sk.empty


class _Bands:
    """Step 4: a draw's band tasks, `ahead` of the band the driver is on (a band's codes are
    held by the cluster until asked for, not all at once). Each task gets the groups found
    when it was sent (a file per sending) and drops the pairs inside one before comparing
    signatures: groups only grow, so those are pairs the driver would drop too, and in
    templated text they are most of them once its families are joined."""

    def __init__(self, client: Cluster, task: Any, bands: int, n: int, ahead: int,
                 stem: Path) -> None:
        self.client, self.task, self.bands, self.n, self.ahead = client, task, bands, n, ahead
        self.stem = stem
        self.futures: dict[int, Any] = {}
        self.files: dict[int, Path] = {}  # per band sent: the groups file it reads
        self.saved: tuple[np.ndarray, Path] | None = None  # the groups last written
        self.next = 0

    def _groups(self, label: np.ndarray) -> Path:
        """A file of these groups (the last one again while no chunk joined any)."""
        if self.saved is None or self.saved[0] is not label or \
                self.saved[1] not in self.files.values():
            path = self.stem.with_name(f"{self.stem.name}.groups-{self.next}.npy")
            np.save(path, label.astype(np.int32) if len(label) < 2**31 else label)
            self.saved = (label, path)
        return self.saved[1]

    def __call__(self, band: int, label: np.ndarray) -> np.ndarray:
        if self.next < min(band + self.ahead, self.bands):
            groups = self._groups(label)
        while self.next < min(band + self.ahead, self.bands):
            self.futures[self.next] = self.client.submit(self.task, self.next,
                                                         groups=groups.name, pure=False)
            self.files[self.next] = groups
            self.next += 1
        future = self.futures.pop(band)
        codes = future.result()
        future.release()
        done = self.files.pop(band)
        if done not in self.files.values():
            done.unlink(missing_ok=True)
        return apart(codes, self.n, label)


class ClusterFinder:
    """A `Finder` over the kept records of `records`, on the cluster (see the module
    docstring); `close` removes its work folder."""

    def __init__(self, records: pd.DataFrame, client: Cluster, work: Path) -> None:
        live = kept(narrow(records))
        self.index, self.client, self.work = live.index, client, work
        self.threads = max(1, sum(client.nthreads().values()))
        work.mkdir(parents=True, exist_ok=True)
        source = work / "records.parquet"
        live[COLUMNS].to_parquet(source, index=False,
                                 row_group_size=part_rows(len(live), client))
        self.parts = parts_of(source, part_rows(len(live), client))
        samples = map_tasks(client, "split texts", functools.partial(
            _texts_task, source=source, work=work), self.parts)
        pool = sorted(t for s in samples for t in s)
        splitters = np.asarray(sorted({pool[k * len(pool) // len(self.parts)]
                                       for k in range(1, len(self.parts)) if pool}),
                               dtype=object)
        map_tasks(client, "split ranges", functools.partial(
            _range_task, work=work, splitters=splitters), self.parts)
        ranges = map_tasks(client, "split order", functools.partial(
            _sort_task, work=work, parts=self.parts), range(len(splitters) + 1))
        # live positions in string order (ties: by position); the runs of equal texts
        self.order = np.concatenate([r[0] for r in ranges])
        self.run = np.cumsum(~np.concatenate([r[1] for r in ranges]))
        self.empty: dict[int, np.ndarray] = {}  # per hash seed: which texts are empty
        self.searches = 0

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def __call__(self, frame: pd.DataFrame, threshold: float, seeds: tuple[int, ...],
                 known: np.ndarray | None) -> tuple[np.ndarray, dict[str, object]]:
        if len(frame) <= ALLPAIRS_MAX:  # all pairs: one process, exactly
            return in_process(frame, threshold, seeds, known)
        at = self.index.get_indexer(frame.index)  # each frame row's position in the files
        if len(frame) != len(self.index) or (at < 0).any():
            raise ValueError("a ClusterFinder searches the kept records it was made with")
        in_frame = np.empty(len(at), dtype=np.int64)
        in_frame[at] = np.arange(len(at))
        # the index order: string order, ties in frame order, as one process ranks them
        ranked = self.order[np.lexsort((in_frame[self.order], self.run))]
        index_of = np.empty(len(ranked), dtype=np.int64)
        index_of[ranked] = np.arange(len(ranked))
        self.searches += 1
        space = f"search{self.searches}"

        def bands_of(lsh: LSHParams) -> BandCodes:
            prefix = f"seed{lsh.seed}."
            if lsh.seed not in self.empty:
                self.empty[lsh.seed] = np.concatenate(map_tasks(
                    self.client, f"split sketches (seed {lsh.seed})", functools.partial(
                        _sketch_task, work=self.work, lsh=lsh, prefix=prefix), self.parts))
            save_space(self.work, space, ranked,
                       np.flatnonzero(~self.empty[lsh.seed][ranked]))
            task = functools.partial(band_task, work=self.work, parts=self.parts,
                                     params=lsh, space=space, prefix=prefix)
            return _Bands(self.client, task, lsh.bands, len(ranked), BANDS_AHEAD * self.threads,
                          self.work / f"{space}.seed{lsh.seed}")

        def verify(pairs: np.ndarray) -> np.ndarray:
            ok = verified_at(ranked[pairs], threshold, work=self.work, parts=self.parts)
            return index_of[ok]

        return join_draws(in_frame[ranked], known, seeds, bands_of, verify)


@contextlib.contextmanager
def cluster_finder(records: pd.DataFrame, client: Cluster | None,
                   work: Path) -> Iterator[Finder]:
    """The `Finder` for a split of `records`: on the cluster when a client is given (its work
    files in `work`, removed after), else in this process."""
    if client is None:
        yield in_process
        return
    finder = ClusterFinder(records, client, work)
    try:
        yield finder
    finally:
        finder.close()

