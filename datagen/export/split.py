"""Train/validation(/test) split that never puts near-duplicates on both sides.

Random splits leak paraphrases from train into validation and inflate validation scores, so
kept records are first joined into groups: one `dup_cluster` is one group, and instructions
that are near-duplicates at `GROUP_THRESHOLD` (looser than the dedup threshold, so paraphrases
that survived dedup still travel together) join the same group. Whole groups are then drawn,
per seed task (stratified), in an order shuffled by the run's seed, until each seed's share of
test and validation is met. `leakage_check` proves afterwards, with the same near-duplicate
machinery, that no pair crosses a split boundary.

A split size is a share when it is a float (0.2) and a count when it is an int (50), as in
scikit-learn. Counts are shared out across seeds in proportion to their size. Groups are never
cut, so realised ratios are approximate (they are reported per seed). Validation is never empty
when there are two groups or more; when every kept record is one group nothing can be held out
without leaking, and validation stays empty.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pandas as pd

from datagen.curate.similarity import UnionFind, near_pairs
from datagen.records import kept

GROUP_THRESHOLD = 80.0
SPLITS = ("train", "validation", "test")
MIN_SEED_RECORDS = 5  # a seed with this many kept records is represented in every held-out split
# With two groups or more, validation is never empty: users index `ds["validation"]`, and a
# dataset without that split breaks their training scripts more than a small one does.
MIN_FOR_VALIDATION = 2


def groups(live: pd.DataFrame, threshold: float = GROUP_THRESHOLD) -> pd.Series:
    """Group name per record: records sharing a `dup_cluster` or a near-duplicate instruction
    share a group. Names do not depend on row order, so neither does the split."""
    ordered = live.sort_values("id", kind="stable")
    uf = UnionFind(len(ordered))
    first_of: dict[str, int] = {}
    for pos, cluster in enumerate(ordered["dup_cluster"].tolist()):
        if isinstance(cluster, str) and cluster:
            uf.union(first_of.setdefault(cluster, pos), pos)
    for i, j in near_pairs(ordered["instruction"].fillna("").tolist(), threshold):
        uf.union(i, j)
    ids = ordered["id"].astype(str).tolist()
    return pd.Series([ids[uf.find(p)] for p in range(len(ordered))], index=ordered.index,
                     dtype="string").reindex(live.index)


def _targets(sizes: dict[str, int], spec: float | int) -> dict[str, int]:
    """Records wanted per seed for one held-out split (largest remainder rounding)."""
    n = sum(sizes.values())
    if not n or not spec:
        return {s: 0 for s in sizes}
    total = spec * n if isinstance(spec, float) else min(int(spec), n)
    exact = {s: total * k / n for s, k in sizes.items()}
    out = {s: math.floor(v) for s, v in exact.items()}
    spare = round(total) - sum(out.values())
    for s in sorted(exact, key=lambda s: (out[s] - exact[s], s))[:max(spare, 0)]:
        out[s] += 1
    for s, k in sizes.items():
        if k >= MIN_SEED_RECORDS:
            out[s] = max(out[s], 1)
    return out


def _draw(order: list[str], size: dict[str, int], target: int, labels: dict[str, str],
          name: str) -> None:
    """Move groups from train to `name` until `target` records, keeping one group in train."""
    free = sum(labels[g] == "train" for g in order)
    taken = 0
    for g in order:
        if taken >= target or free <= 1:
            break
        after = taken + size[g]
        if labels[g] == "train" and (after <= target or after - target < target - taken):
            labels[g] = name
            taken, free = after, free - 1
    if taken == 0 and target > 0 and free > 1:
        rest = [g for g in order if labels[g] == "train"]
        labels[min(rest, key=lambda g: (size[g], g))] = name


def split(records: pd.DataFrame, validation: float | int = 0.2, test: float | int = 0.0, *,
          seed: int = 0, threshold: float = GROUP_THRESHOLD) -> pd.Series:
    """A split label ("train", "validation", "test") for every kept record, indexed like
    `records`. Same records and seed: same labels, whatever the row order."""
    live = kept(records)
    if live.empty:
        return pd.Series(dtype="string")
    group = groups(live, threshold)
    size = group.value_counts().to_dict()
    seeds = live["seed_id"].astype(str)
    stratum = {g: Counter(part).most_common(1)[0][0] for g, part in seeds.groupby(group)}
    seed_sizes: dict[str, int] = Counter()
    for g, s in stratum.items():
        seed_sizes[s] += size[g]
    want = {"test": _targets(seed_sizes, test), "validation": _targets(seed_sizes, validation)}
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
    return group.map(labels).astype("string")


def leakage_check(records: pd.DataFrame, labels: pd.Series,
                  threshold: float = GROUP_THRESHOLD) -> dict[str, object]:
    """Near-duplicate instruction pairs (at `threshold`) and shared `dup_cluster`s whose two
    records lie in different splits. `passed` is the proof the manifest records."""
    idx = labels.index[labels.notna()]
    part = records.loc[idx]
    lab = labels.loc[idx].tolist()
    ids = part["id"].astype(str).tolist()
    crossing = [(ids[i], ids[j]) for i, j in
                near_pairs(part["instruction"].fillna("").tolist(), threshold) if lab[i] != lab[j]]
    clusters = part.assign(_split=lab).dropna(subset=["dup_cluster"])
    shared = int((clusters.groupby("dup_cluster")["_split"].nunique() > 1).sum())
    counts = {name: int(sum(v == name for v in lab)) for name in SPLITS}
    return {"threshold": threshold, "crossing_pairs": len(crossing), "crossing_clusters": shared,
            "examples": crossing[:3], "passed": not crossing and not shared, **counts}


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
