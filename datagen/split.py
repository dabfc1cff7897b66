"""Train/validation split that never puts near-duplicates on both sides.

Kept records are grouped by near-duplicate clusters (at `GROUP_THRESHOLD`, looser than the
dedup threshold, so paraphrases that survived dedup still travel together), groups are
shuffled with the run's seed per seed task (stratified), and whole groups go to validation
until each seed's share is met. `leakage_check` then proves no near-duplicate pair crosses.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from datagen.dedup import clusters
from datagen.records import kept
from datagen.text import token_sort

GROUP_THRESHOLD = 80.0
SPLITS = ("train", "validation")


def _pair_text(df: pd.DataFrame) -> list[str]:
    return (df["instruction"].fillna("") + " " + df["response"].fillna("")).tolist()


def split(records: pd.DataFrame, validation: float, *, seed: int = 0,
          threshold: float = GROUP_THRESHOLD) -> pd.Series:
    """A `split` label ("train"/"validation") for every kept record, indexed like `records`."""
    live = kept(records)
    if live.empty:
        return pd.Series(dtype="string")
    roots = clusters(live["instruction"].fillna("").tolist(), threshold)
    groups = pd.Series([live.index[r] for r in roots], index=live.index)
    labels = pd.Series("train", index=live.index, dtype="string")
    rng = random.Random(seed)
    n_total = len(live)
    for seed_id in sorted(live["seed_id"].unique()):
        members = live.index[live["seed_id"] == seed_id]
        seed_groups = sorted(set(groups[members]))
        rng.shuffle(seed_groups)
        want = round(len(members) * validation)
        if len(seed_groups) >= 2 and (n_total >= 2 or len(members) >= 10):
            want = max(want, 1)
        want = min(want, len(members) - 1) if len(seed_groups) >= 2 else 0
        taken = 0
        for g in seed_groups:
            if taken >= want:
                break
            idx = groups.index[groups == g]
            labels[idx] = "validation"
            taken += len(idx)
    return labels


def leakage_check(records: pd.DataFrame, labels: pd.Series,
                  threshold: float = GROUP_THRESHOLD) -> dict[str, object]:
    """Count near-duplicate pairs (instruction, at `threshold`) between train and validation."""
    train = records.loc[labels.index[labels == "train"], "instruction"].fillna("")
    val = records.loc[labels.index[labels == "validation"], "instruction"].fillna("")
    crossing = 0
    if len(train) and len(val):
        scores = process.cdist([token_sort(t) for t in val], [token_sort(t) for t in train],
                               scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8,
                               workers=-1)
        crossing = int(np.count_nonzero(scores))
    return {"threshold": threshold, "crossing_pairs": crossing, "passed": crossing == 0,
            "train": int(len(train)), "validation": int(len(val))}


def realised_ratios(records: pd.DataFrame, labels: pd.Series) -> dict[str, dict[str, float]]:
    out = {}
    seeds = records.loc[labels.index, "seed_id"]
    for seed_id, lab in labels.groupby(seeds):
        n = len(lab)
        n_val = int((lab == "validation").sum())
        out[str(seed_id)] = {"train": n - n_val, "validation": n_val,
                             "validation_share": round(n_val / n, 3) if n else math.nan}
    return out
