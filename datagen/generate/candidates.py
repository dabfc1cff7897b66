"""Several answers per instruction, for preference (DPO) pairs.

Each instruction about to be answered gets `candidates - 1` sibling records: the same seed,
system message and instruction, their own id (the parent's id and the candidate index) and
`metadata` naming the parent (`candidate_of`), their index (`candidate`) and the temperature
they are answered at (each one a `temperature_step` warmer, at most 2). Every sibling is a
record like any other: screened, judged and deduplicated; dedup keeps the best-scored answer
of the family (an exact duplicate of the others) and drops the rest with `lost_to`, which is
where `datagen.export.preference` finds its rejected answers. Siblings carry
`stage: candidate`, not `expand`, so they count as no instruction made (`generate.work`).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from datagen.config import PreferenceConfig
from datagen.records import COLUMNS, json_cell, record_id

STAGE = "candidate"
MAX_TEMPERATURE = 2.0


def candidate_temperature(base: float, k: int, step: float) -> float:
    """The temperature candidate `k` (0: the instruction's own record) is answered at."""
    return round(min(MAX_TEMPERATURE, base + k * step), 4)


def is_candidate(metadata: Any) -> bool:
    return isinstance(metadata, str) and '"candidate_of"' in metadata


def siblings(batch: pd.DataFrame, cfg: PreferenceConfig, base_temperature: float,
             start: int) -> pd.DataFrame:
    """The sibling records of `batch`'s records (not of siblings), indexed from `start`."""
    rows: list[dict[str, Any]] = []
    for _, r in batch.iterrows():
        if is_candidate(r["metadata"]):
            continue
        meta = json_cell(r["metadata"])
        for k in range(1, cfg.candidates):
            row = {c: r[c] for c in COLUMNS}
            row.update(id=record_id(str(r["id"]), STAGE, k), response=None, finish_reason=None,
                       prompt_tokens=None, completion_tokens=None, model=None, params=None,
                       scores="{}", drop_reason=None, lost_to=None, dup_cluster=None, keep=True,
                       metadata=json.dumps({**{m: v for m, v in meta.items()
                                               if m not in ("stage", "sample", "verdict")},
                                            "stage": STAGE, "candidate_of": str(r["id"]),
                                            "candidate": k,
                                            "temperature": candidate_temperature(
                                                base_temperature, k, cfg.temperature_step)},
                                           sort_keys=True, ensure_ascii=False))
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.index = pd.RangeIndex(start, start + len(out))
    return out.astype(COLUMNS)


def add_candidates(records: pd.DataFrame, batches: list[pd.DataFrame], cfg: PreferenceConfig,
                   base_temperature: float) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """`records` with the siblings of the batches' records appended (new index values), and
    each batch with its siblings. A record that has siblings already (a resume) gets none:
    their ids are in `records`."""
    have = set(records["id"].astype(str))
    start = int(records.index.max()) + 1 if len(records) else 0
    out = []
    extra = []
    for batch in batches:
        more = siblings(batch, cfg, base_temperature, start)
        more = more[~more["id"].isin(have)]
        if len(more):
            more.index = pd.RangeIndex(start, start + len(more))
            start += len(more)
            extra.append(more)
        out.append(pd.concat([batch, more]).astype(COLUMNS) if len(more) else batch)
    if extra:
        records = pd.concat([records, *extra]).astype(COLUMNS)
    return records, out
