"""Train/validation(/test) split that never puts near-duplicates on both sides.

Random splits leak paraphrases from train into validation and inflate validation scores, so
kept records are first joined into groups: one `dup_cluster` is one group, and instructions
that are near-duplicates at `GROUP_THRESHOLD` (looser than the dedup threshold, so paraphrases
that survived dedup still travel together) join the same group. Whole groups are then drawn,
per seed task (stratified), in an order shuffled by the run's seed, until each seed's share of
test and validation is met. `leakage_check` proves afterwards, with the same near-duplicate
machinery, that no pair crosses a split boundary.

Both look for near-duplicates through a `Finder`: `in_process` here, or, under Dask, the
cluster's (`datagen.export.split_cluster`), which gives the same pairs, so the same labels.

Groups are never cut, so a split's size is a choice of whole groups: per seed, the subset of
groups whose sizes sum closest to the target is found exactly (a subset-sum over group sizes,
`_closest`), so big groups of paraphrases do not push the realised share off what was asked;
past `DP_CELLS` the shuffled greedy fill is used. `check_shares` then compares every seed's
realised shares with the request, within `split.tolerance`, and when a share cannot be met
says why: the realised share, and the largest groups that cannot be split without leaking.

A split size is a share when it is a float (0.2) and a count when it is an int (50), as in
scikit-learn; `split.min_validation` is a floor in records. Counts are shared out across seeds
in proportion to their size. Validation is never empty when there are two groups or more;
when every kept record is one group nothing can be held out without leaking, and validation
stays empty (and the check says so).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from datagen.records import json_cell, kept, user_texts
from datagen.similarity.grouping import grouping_pairs
from datagen.similarity.pairs import components

GROUP_THRESHOLD = 80.0
SPLITS = ("train", "validation", "test")
MIN_SEED_RECORDS = 5  # a seed with this many kept records is represented in every held-out split
# With two groups or more, validation is never empty: users index `ds["validation"]`, and a
# dataset without that split breaks their training scripts more than a small one does.
MIN_FOR_VALIDATION = 2
DP_CELLS = 200_000_000  # groups x target size: past this (25 MB of bitsets) the greedy fill
LARGEST_SHOWN = 3  # groups named when a share cannot be met
# MinHash hash seeds of the near-duplicate draws (large splits): the grouping's and the
# leakage check's differ, so the check is a second, independent look
GROUPING_SEEDS = (1,)
CHECK_SEEDS = (2,)

# Near pairs among a frame's records at a threshold, by MinHash draws of these hash seeds,
# given a group label per record (None: none known): the pairs as positions in the frame, and
# how they were found (`grouping_pairs`'s contract).
Finder = Callable[[pd.DataFrame, float, tuple[int, ...], np.ndarray | None],
                  tuple[np.ndarray, dict[str, object]]]


def in_process(frame: pd.DataFrame, threshold: float, seeds: tuple[int, ...],
               known: np.ndarray | None) -> tuple[np.ndarray, dict[str, object]]:
    """The `Finder` of one process: `grouping_pairs` over the records' user sides."""
    return grouping_pairs(user_texts(frame), threshold, seeds=seeds, known=known)


# What the split reads of a record: its copies stay narrow (a million records whole are GBs)
SPLIT_COLUMNS = ("id", "seed_id", "keep", "dup_cluster", "instruction", "metadata")


def narrow(records: pd.DataFrame) -> pd.DataFrame:
    """The columns of `records` that the split reads."""
    return records[[c for c in SPLIT_COLUMNS if c in records.columns]]


def source_ids(part: pd.DataFrame) -> list[str | None]:
    """The chunk or row each record was made from (grounded seeds), else None."""
    out: list[str | None] = []
    for raw in part["metadata"].tolist():
        ref = json_cell(raw).get("source") if isinstance(raw, str) and '"source"' in raw \
            else None
        out.append(str(ref["id"]) if isinstance(ref, dict) and ref.get("id") else None)
    return out


def _shared_pairs(keys: pd.Series) -> np.ndarray:
    """Pairs (first holder, holder) of the positions sharing a non-empty key."""
    codes, _ = pd.factorize(keys.where(keys.astype(str) != ""), use_na_sentinel=True)
    pos = np.flatnonzero(codes >= 0)
    if not len(pos):
        return np.zeros((0, 2), dtype=np.int64)
    first = pd.Series(pos).groupby(codes[pos]).transform("min").to_numpy()
    return np.stack([first, pos], axis=1)


def groups(live: pd.DataFrame, threshold: float = GROUP_THRESHOLD,
           joined: np.ndarray | None = None, known: pd.Series | None = None,
           finder: Finder = in_process) -> pd.Series:
    """Group name per record: records sharing a `dup_cluster`, a source chunk or row, or a
    near-duplicate user side (`datagen.records.user_texts`: the instruction, later user turns
    and tool calls) share a group, so train and validation never share a chunk;
    `joined`: more pairs of record ids to keep together (the leakage check's), added to the
    `known` groups when given. Names do not depend on row order, so neither does the split."""
    ordered = live.sort_values("id", kind="stable")
    sources = pd.Series(["source:" + s if s is not None else None
                         for s in source_ids(ordered)], dtype=object)
    extra = np.zeros((0, 2), dtype=np.int64)
    if joined is not None and len(joined):
        at = pd.Series(np.arange(len(ordered)), index=ordered["id"].astype(str).to_numpy())
        extra = np.stack([at.reindex(joined[:, 0]).to_numpy(), at.reindex(joined[:, 1])
                          .to_numpy()], axis=1)
        extra = extra[~np.isnan(extra).any(axis=1)].astype(np.int64)
    pairs = np.concatenate([_shared_pairs(ordered["dup_cluster"].reset_index(drop=True)),
                            _shared_pairs(sources), extra])
    if known is not None:  # the groups found before: their pairs are not looked for again
        pairs = np.concatenate([pairs, _shared_pairs(known.reindex(ordered.index)
                                                     .reset_index(drop=True))])
    else:  # dedup's clusters and shared sources travel together already: no pair among them
        near, _ = finder(ordered, threshold, GROUPING_SEEDS, components(len(ordered), pairs))
        pairs = np.concatenate([pairs, near])
    roots = components(len(ordered), pairs)
    ids = ordered["id"].astype(str).to_numpy()
    return pd.Series(ids[roots], index=ordered.index, dtype="string").reindex(live.index)


def _targets(sizes: dict[str, int], spec: float | int, floor: int = 0) -> dict[str, int]:
    """Records wanted per seed for one held-out split (largest remainder rounding)."""
    n = sum(sizes.values())
    if not n or not (spec or floor):
        return {s: 0 for s in sizes}
    total = spec * n if isinstance(spec, float) else min(int(spec), n)
    total = min(max(total, floor), n - 1)
    exact = {s: total * k / n for s, k in sizes.items()}
    out = {s: math.floor(v) for s, v in exact.items()}
    spare = round(total) - sum(out.values())
    for s in sorted(exact, key=lambda s: (out[s] - exact[s], s))[:max(spare, 0)]:
        out[s] += 1
    for s, k in sizes.items():
        if k >= MIN_SEED_RECORDS:
            out[s] = max(out[s], 1)
    return out


def _closest(sizes: list[int], target: int) -> list[int] | None:
    """Positions of a subset of `sizes` whose sum is closest to `target` (ties: the smaller
    sum), leaving at least one item out; None when the table would pass `DP_CELLS`. Reachable
    sums are bitsets (Python ints), one per prefix, so the subset is read back exactly."""
    total = sum(sizes)
    if not sizes or target <= 0 or len(sizes) * 2 * target > DP_CELLS:
        return None
    width = min(2 * target, total - min(sizes))  # never every item: one group stays in train
    if width <= 0:
        return []
    mask = (1 << (width + 1)) - 1
    reach = [1]
    for k in sizes:
        reach.append((reach[-1] | (reach[-1] << k)) & mask)
    final = reach[-1]
    best = next(t for d in range(width + 1) for t in (target - d, target + d)
                if 0 <= t <= width and (final >> t) & 1)
    chosen = []
    for i in range(len(sizes) - 1, -1, -1):
        if not (reach[i] >> best) & 1:  # the sum needs item i
            chosen.append(i)
            best -= sizes[i]
    return chosen


def _draw(order: list[str], size: dict[str, int], target: int, labels: dict[str, str],
          name: str) -> None:
    """Move groups from train to `name` until `target` records, keeping one group in train:
    the closest subset when the table is small enough, else a greedy fill in `order`."""
    open_groups = [g for g in order if labels[g] == "train"]
    free, taken = len(open_groups), 0
    chosen = _closest([size[g] for g in open_groups], target) if free > 1 else None
    if chosen is not None:
        for i in chosen:
            labels[open_groups[i]] = name
        taken, free = sum(size[open_groups[i]] for i in chosen), free - len(chosen)
    else:
        for g in open_groups:
            if taken >= target or free <= 1:
                break
            after = taken + size[g]
            if after <= target or after - target < target - taken:
                labels[g] = name
                taken, free = after, free - 1
    if taken == 0 and target > 0 and free > 1:
        rest = [g for g in order if labels[g] == "train"]
        labels[min(rest, key=lambda g: (size[g], g))] = name


def strata(group: pd.Series, seeds: pd.Series) -> dict[str, str]:
    """The seed most of each group's records come from, the stratum it is drawn in (ties:
    the seed met first, in row order, as `Counter.most_common` breaks them); a table per
    group and seed, not a Python loop per group."""
    table = pd.DataFrame({"group": group.to_numpy(), "seed": seeds.to_numpy(),
                          "at": np.arange(len(group))})
    per = table.groupby(["group", "seed"], sort=False)["at"].agg(["size", "min"]).reset_index()
    first = per.sort_values(["size", "min"], ascending=[False, True], kind="stable") \
        .drop_duplicates("group")
    return dict(zip(first["group"].tolist(), first["seed"].tolist(), strict=True))


@dataclass
class Assignment:
    """Split labels of the kept records, and the near-duplicate group of each."""

    labels: pd.Series
    group: pd.Series


def split(records: pd.DataFrame, validation: float | int = 0.2, test: float | int = 0.0, *,
          seed: int = 0, threshold: float = GROUP_THRESHOLD, min_validation: int = 0) -> pd.Series:
    """A split label ("train", "validation", "test") for every kept record, indexed like
    `records`. Same records and seed: same labels, whatever the row order."""
    return assign(records, validation, test, seed=seed, threshold=threshold,
                  min_validation=min_validation).labels


def assign(records: pd.DataFrame, validation: float | int = 0.2, test: float | int = 0.0, *,
           seed: int = 0, threshold: float = GROUP_THRESHOLD,
           min_validation: int = 0, joined: np.ndarray | None = None,
           known: pd.Series | None = None, finder: Finder = in_process) -> Assignment:
    """`split`, with the groups it moved whole (for `check_shares`); `joined`: pairs of
    record ids that must share a group besides those `groups` finds (or the `known` groups
    of an earlier assignment); `finder`: where near pairs are looked for."""
    live = kept(narrow(records))
    if live.empty:
        return Assignment(pd.Series(dtype="string"), pd.Series(dtype="string"))
    group = groups(live, threshold, joined, known, finder)
    size = group.value_counts().to_dict()
    seeds = live["seed_id"].astype(str)
    stratum = strata(group, seeds)
    seed_sizes: dict[str, int] = Counter()
    for g, s in stratum.items():
        seed_sizes[s] += size[g]
    want = {"test": _targets(seed_sizes, test),
            "validation": _targets(seed_sizes, validation, min_validation)}
    labels = dict.fromkeys(size, "train")
    rng = random.Random(seed)
    for s in sorted(seed_sizes):
        order = sorted(g for g in size if stratum[g] == s)
        rng.shuffle(order)
        for name in ("test", "validation"):
            _draw(order, size, want[name][s], labels, name)
    if len(live) >= MIN_FOR_VALIDATION and "validation" not in labels.values() and validation:
        by_seed = Counter(stratum[g] for g in labels if labels[g] == "train")
        richest = max(sorted(by_seed), key=lambda s: by_seed[s])
        if by_seed[richest] > 1:
            order = sorted(g for g in labels if stratum[g] == richest and labels[g] == "train")
            _draw(order, size, 1, labels, "validation")
    return Assignment(group.map(labels).astype("string"), group)


def check_shares(records: pd.DataFrame, assignment: Assignment, validation: float | int,
                 test: float | int = 0.0, *, tolerance: float = 0.02, min_validation: int = 0,
                 threshold: float = GROUP_THRESHOLD) -> dict[str, object]:
    """Did every seed get the held-out shares asked for? Per seed and split: records asked
    and realised; a miss (more than `tolerance` of the seed's records, and at least one record
    off) names the largest groups, and `warning` says what to change."""
    labels, group = assignment.labels.dropna(), assignment.group
    if labels.empty:
        return {"tolerance": tolerance, "met": True, "misses": [], "warning": None}
    seeds = records.loc[labels.index, "seed_id"].astype(str)
    sizes = {str(k): int(v) for k, v in seeds.value_counts().items()}
    asked = {"test": _targets(sizes, test),
             "validation": _targets(sizes, validation, min_validation)}
    misses = []
    for sid, n in sorted(sizes.items()):
        mine = labels[seeds == sid]
        for name in ("validation", "test"):
            want, got = asked[name][sid], int((mine == name).sum())
            if abs(got - want) <= max(1, tolerance * n):
                continue
            sizes_of = group.loc[mine.index].value_counts()
            largest = []
            for g, k in sizes_of.head(LARGEST_SHOWN).items():
                first = records.loc[group.loc[mine.index][group.loc[mine.index] == g].index[0]]
                largest.append({"size": int(k), "share": round(int(k) / n, 3),
                                "split": str(labels.loc[first.name]),
                                "example": str(first["instruction"])[:160]})
            misses.append({"seed": sid, "split": name, "records": n, "asked": want,
                           "realised": got, "asked_share": round(want / n, 3),
                           "realised_share": round(got / n, 3), "largest_groups": largest})
    warning = None
    if misses:
        m = misses[0]
        big = m["largest_groups"][0] if m["largest_groups"] else None
        why = (f"its largest group of near-duplicate instructions holds {big['size']:,} pairs "
               f"({big['share']:.0%}), and a group never crosses splits" if big else "")
        more = f" (and {len(misses) - 1} more)" if len(misses) > 1 else ""
        warning = (f"{m['split']} holds {m['realised']:,} of {m['records']:,} pairs of seed "
                   f"{m['seed']} ({m['realised_share']:.3f}; asked {m['asked_share']:.3f} "
                   f"± {tolerance}){more}: {why}. Diversify the seed (topics, personas, evolve), "
                   f"or, if pairs this similar may sit on both sides, raise "
                   f"split.group_threshold and split.leakage_threshold (now {threshold:g})")
    return {"tolerance": tolerance, "met": not misses, "misses": misses, "warning": warning}


@dataclass
class NearPairs:
    """Near-duplicate instruction pairs as record ids, and how they were found."""

    ids: np.ndarray  # (m, 2) of str
    how: dict[str, object]


def check_pairs(records: pd.DataFrame, labels: pd.Series,
                threshold: float = GROUP_THRESHOLD, group: pd.Series | None = None,
                finder: Finder = in_process) -> NearPairs:
    """The leakage check's near-duplicate pairs among the labelled records: every pair when
    few, else MinHash draws independent of the grouping's (`CHECK_SEEDS`). With `group` (the
    assignment's groups, which never cross a split) only pairs across groups are looked for,
    and enough of them to join every group they link (`grouping_pairs`)."""
    part = narrow(records).loc[labels.index[labels.notna()]]
    known = None if group is None else pd.factorize(group.reindex(part.index))[0]
    pairs, how = finder(part, threshold, CHECK_SEEDS, known)
    ids = part["id"].astype(str).to_numpy()
    return NearPairs(ids[pairs] if len(pairs) else np.zeros((0, 2), dtype=object), how)


def leakage_check(records: pd.DataFrame, labels: pd.Series,
                  threshold: float = GROUP_THRESHOLD,
                  near: NearPairs | None = None) -> dict[str, object]:
    """Near-duplicate instruction pairs (at `threshold`; `near`: found already) and shared
    `dup_cluster`s whose two records lie in different splits. `passed` is what the manifest
    records, and `checked` says what it rests on."""
    idx = labels.index[labels.notna()]
    part = narrow(records).loc[idx]
    lab = labels.loc[idx].tolist()
    near = near if near is not None else check_pairs(records, labels, threshold)
    by_id = pd.Series(lab, index=part["id"].astype(str).to_numpy(), dtype=object)
    if len(near.ids):
        left = by_id.reindex(near.ids[:, 0]).to_numpy()
        right = by_id.reindex(near.ids[:, 1]).to_numpy()
        across = near.ids[left != right]
    else:
        across = near.ids
    crossing = [(str(a), str(b)) for a, b in across[:3].tolist()]
    clusters = pd.Series(lab, index=part.index)[part["dup_cluster"].notna()]
    shared = int((clusters.groupby(part["dup_cluster"].dropna()).nunique() > 1).sum())
    sources = pd.Series(source_ids(part), index=part.index, dtype=object)
    by_source = pd.Series(lab, index=part.index)[sources.notna()].groupby(sources.dropna())
    shared_sources = int((by_source.nunique() > 1).sum()) if len(by_source) else 0
    counts = {name: int(sum(v == name for v in lab)) for name in SPLITS}
    return {"threshold": threshold, "crossing_pairs": len(across), "crossing_clusters": shared,
            "crossing_sources": shared_sources, "examples": crossing,
            "passed": not len(across) and not shared and not shared_sources,
            "near_pairs_checked": len(near.ids), "checked": checked(near.how), **counts}


def checked(how: dict[str, object]) -> str:
    """What `passed` rests on, in words for the manifest and the card."""
    if how["method"] == "allpairs":
        return "every pair of kept instructions scored (exact)"
    return (f"MinHash LSH candidates ({how['bands']} bands of {how['rows']} rows over "
            f"character {how['shingle']}-grams, hash seeds {how['seeds']}, independent of the "
            f"grouping's draw) between different groups verified exactly, and the groups of "
            f"every pair found joined before the split was drawn again; on the bench corpus "
            f"every ratio-80 pair of a sample was in one "
            f"group or found by this draw (recall >= 0.99, bench/split_recall.py): a measured "
            f"bound, not a proof over every pair")

def realised_ratios(records: pd.DataFrame, labels: pd.Series) -> dict[str, dict[str, float]]:
    """Per seed (and "all"): records per split and the realised held-out shares."""
    lab = labels.dropna()
    seeds = records.loc[lab.index, "seed_id"].astype(str)
    out = {}
    for seed_id, part in [*lab.groupby(seeds), ("all", lab)]:
        n = len(part)
        row: dict[str, float] = {name: int((part == name).sum()) for name in SPLITS}
        for name in ("validation", "test"):
            row[f"{name}_share"] = round(row[name] / n, 3) if n else math.nan
        out[str(seed_id)] = row
    return out
