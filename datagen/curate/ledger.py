"""The rejection ledger: why each dropped record was dropped, and what it lost to.

Every record stays in `records.parquet` with its verdict; `rejected.jsonl` holds the dropped
ones readable on their own (`rejected_rows`), and `summary` counts drops per stage, reason and
seed, and the human verdicts, with a few examples per reason, for `datagen rejected RUN_DIR`,
the manifest and the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from datagen.checks.human import counts as human_counts
from datagen.checks.registry import stage_of
from datagen.records import row_dicts

REJECTED_COLUMNS = ("id", "seed_id", "drop_reason", "lost_to", "instruction", "response",
                    "finish_reason", "dup_cluster", "scores")


def rejected_rows(records: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Each dropped record's line of `rejected.jsonl`, made as it is written."""
    dropped = records[~records["keep"].fillna(False).astype(bool)]
    cols = [c for c in REJECTED_COLUMNS if c in dropped.columns]
    for row in row_dicts(dropped, cols):
        yield {k: (None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v))
                   else v) for k, v in row.items()}


def summary(records: pd.DataFrame, examples: int = 2, width: int = 100) -> dict[str, Any]:
    """Counts per stage, reason and seed, and the first few examples of each reason."""
    dropped = records[~records["keep"].fillna(False).astype(bool)]
    reasons = dropped["drop_reason"].fillna("unknown").astype(str)
    by_reason = reasons.value_counts()
    out: dict[str, Any] = {
        "records": int(len(records)), "kept": int(len(records) - len(dropped)),
        "dropped": int(len(dropped)),
        "by_stage": {k: int(v) for k, v in reasons.map(stage_of).value_counts().items()},
        "by_reason": {k: int(v) for k, v in by_reason.items()},
        "by_seed": {str(s): {k: int(v) for k, v in part.value_counts().items()}
                    for s, part in reasons.groupby(dropped["seed_id"].fillna("?"))},
        "lost_to": int(dropped["lost_to"].notna().sum()) if "lost_to" in dropped else 0,
        "human": human_counts(records) if "scores" in records else {"keep": 0, "drop": 0},
        "examples": {},
    }
    for reason in by_reason.index:
        rows = dropped[reasons == reason].head(examples)
        out["examples"][reason] = [
            str(x if isinstance(x, str) else "")[:width].replace("\n", " ")
            + (f"  (lost to {lost})" if isinstance(lost, str) else "")
            for x, lost in zip(rows["instruction"],
                               rows["lost_to"] if "lost_to" in rows else [None] * len(rows),
                               strict=True)
        ]
    return out
