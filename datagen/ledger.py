"""The rejection ledger of a run folder: why each dropped record was dropped.

`records.parquet` keeps every record with its verdict; this reads it back and summarises
drops per stage, per reason and per seed, with a few examples per reason, for
`datagen rejected RUN_DIR`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from datagen.errors import DatagenError
from datagen.records import DropReason as R

STAGES: dict[str, tuple[str, ...]] = {
    "generation": (R.UNPARSEABLE, R.LLM_ERROR, R.NOT_NOVEL, R.EVOL_UNCHANGED,
                   R.EVOL_UNANSWERABLE, R.EVOL_PROMPT_COPY),
    "bad input": (R.MISSING_FIELD, R.NOT_TEXT, R.INVALID_UNICODE),
    "heuristics": (R.EMPTY, R.TOO_SHORT, R.TOO_LONG, R.BLACKLIST, R.BAD_START, R.TRUNCATED,
                   R.REFUSAL, R.PLACEHOLDER, R.ECHO, R.REPETITION, R.PII),
    "language": (R.WRONG_LANGUAGE,),
    "references": (R.SEED_OVERLAP, R.REFERENCE_DUPLICATE, R.EVAL_CONTAMINATION,
                   R.PUBLISHED_DUPLICATE),
    "dedup": (R.EXACT_DUPLICATE, R.NEAR_DUPLICATE),
    "judge": (R.JUDGE_LOW_SCORE,),
    "target": (R.SURPLUS,),
}


def stage_of(reason: str) -> str:
    for stage, reasons in STAGES.items():
        if reason in {str(r) for r in reasons}:
            return stage
    return "other"


def load_records(run_dir: str | Path) -> pd.DataFrame:
    path = Path(run_dir) / "records.parquet"
    if not path.exists():
        raise DatagenError(f"{path}: no records in this folder",
                           hint="pass a run folder written by `datagen run`")
    return pd.read_parquet(path)


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
        "examples": {},
    }
    for reason in by_reason.index:
        rows = dropped[reasons == reason].head(examples)
        out["examples"][reason] = [
            str(x if isinstance(x, str) else "")[:width].replace("\n", " ")
            for x in rows["instruction"]
        ]
    return out
