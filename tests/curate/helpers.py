"""Build small record frames by hand and curate them through the one runner."""

from __future__ import annotations

from typing import Any

import pandas as pd

from datagen.config import CurationConfig
from datagen.curate import References, curate
from datagen.records import new_records

GOOD_INSTRUCTION = "Explain what a mutual confidentiality clause requires from both parties."
GOOD_RESPONSE = ("A mutual confidentiality clause obliges each party to keep the other's "
                 "confidential information secret, to use it only for the agreed purpose, and "
                 "to return or destroy it when the agreement ends.")


def cfg(**sections: Any) -> CurationConfig:
    """A curation config from sections given as dicts: `cfg(length={"min_response_words": 3})`."""
    return CurationConfig.model_validate(sections)


def records(*rows: dict[str, Any]) -> pd.DataFrame:
    """One record per dict; unspecified fields get a good English legal pair."""
    full = []
    for i, row in enumerate(rows):
        base = {"id": f"r{i}", "seed_id": "nda", "domain": "legal", "language": "en",
                "instruction": GOOD_INSTRUCTION, "response": GOOD_RESPONSE,
                "finish_reason": "stop"}
        full.append({**base, **row})
    return new_records(full)


def run(df: pd.DataFrame, config: CurationConfig | None = None, *,
        seed_examples: list[str] | None = None, refs: References | None = None,
        targets: dict[str, int] | None = None) -> pd.DataFrame:
    refs = refs or References(seed_examples=seed_examples or [])
    return curate(df, config or CurationConfig(), refs=refs,
                  targets={"nda": 10**6} if targets is None else targets)


def reasons(df: pd.DataFrame) -> list[str | None]:
    return [None if pd.isna(r) else str(r) for r in df["drop_reason"]]


def reason_of(config: CurationConfig | None = None, **row: Any) -> str | None:
    """The drop reason of one record curated alone (None when kept)."""
    return reasons(run(records(row), config))[0]
