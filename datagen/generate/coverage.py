"""How a grounded run covered its sources: per seed and per file, the chunks or rows it had,
how many it made instructions about and kept pairs from, and pairs per unit. The manifest's
`sources` section and the report's table read this.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from datagen.export.split import source_ids
from datagen.seeds.sources import Unit

_MASK = re.compile(r"\[(EMAIL|IBAN|CREDIT_CARD|SSN|PHONE)\]")


def _spread(counts: list[int]) -> dict[str, float]:
    if not counts:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {"min": min(counts), "mean": round(sum(counts) / len(counts), 2), "max": max(counts)}


def coverage(units: dict[str, list[Unit]], records: pd.DataFrame, labels: pd.Series,
             pii_masked: bool) -> dict[str, Any]:
    """The manifest's `sources` section ({} for a run without grounded seeds)."""
    if not units:
        return {}
    src = pd.Series(source_ids(records), index=records.index, dtype=object)
    keep = records["keep"].fillna(False).astype(bool)
    made = src.dropna().value_counts().to_dict()
    kept_by = src[keep].dropna().value_counts().to_dict()
    split = labels.reindex(records.index)
    out: dict[str, Any] = {"pii_masked": pii_masked, "seeds": {}}
    for seed_id, us in units.items():
        files: dict[str, dict[str, int]] = {}
        for u in us:
            f = files.setdefault(u.file, {"units": 0, "asked": 0, "used": 0, "instructions": 0,
                                          "kept": 0})
            f["units"] += 1
            f["asked"] += int(u.id in made)
            f["used"] += int(u.id in kept_by)
            f["instructions"] += int(made.get(u.id, 0))
            f["kept"] += int(kept_by.get(u.id, 0))
        ids = {u.id for u in us}
        mine = src.isin(ids)
        validation = set(src[mine & (split == "validation")].dropna())
        train = set(src[mine & (split == "train")].dropna())
        out["seeds"][seed_id] = {
            "kind": "rows" if us and us[0].kind == "row" else "chunks",
            "units": len(us),
            "asked": sum(f["asked"] for f in files.values()),
            "used": sum(f["used"] for f in files.values()),
            "instructions": int(mine.sum()),
            "kept": int((mine & keep).sum()),
            "pairs_per_unit": _spread([int(kept_by.get(u.id, 0)) for u in us]),
            "masked_units": sum(1 for u in us if _MASK.search(u.text)),
            "train_units": len(train), "validation_units": len(validation),
            "shared_units": len(train & validation),
            "files": files,
        }
    return out
