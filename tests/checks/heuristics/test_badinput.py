"""Bad input is dropped with a reason, never a crash, and the records still write to Parquet."""

from __future__ import annotations

import pandas as pd

from datagen.records import COLUMNS
from tests.curate.helpers import GOOD_INSTRUCTION, GOOD_RESPONSE, reasons, records, run


def _raw(*rows: dict) -> pd.DataFrame:
    """Records as a user file might give them: object columns, any value."""
    topics = ("indemnity", "termination", "assignment", "warranty", "arbitration", "notice",
              "severability", "jurisdiction", "force majeure", "non-compete", "escrow")
    base = records(*({"instruction": f"Explain how a {t} clause works in a supplier contract."}
                     for t in topics[:len(rows)])).astype(object)
    for i, row in enumerate(rows):
        for k, v in row.items():
            base.at[i, k] = v
    return base


def test_bad_records_get_their_reasons(tmp_path) -> None:
    huge = "Explain this clause. " + "x" * 1_000_000
    df = run(_raw(
        {"instruction": None},
        {"instruction": 42},
        {"instruction": ["a", "list"]},
        {"instruction": "Explain the clause \ud800 to a client in plain words."},
        {"instruction": "Explain the clause\x00 to a client in plain words."},
        {"instruction": huge},
        {"response": huge},
        {"response": 3.5},
        {"response": "Broken \udfff surrogate in an otherwise long enough answer here."},
        {},
    ))
    assert reasons(df) == [
        "missing_field", "not_text", "not_text", "invalid_unicode", "invalid_unicode",
        "too_long", "too_long", "not_text", "invalid_unicode", None,
    ]
    assert df["dup_cluster"].notna().all()
    # the ledger still writes: text was made safe, columns typed
    df.astype(COLUMNS).to_parquet(tmp_path / "records.parquet")
    back = pd.read_parquet(tmp_path / "records.parquet")
    assert "\ufffd" in back.loc[3, "instruction"]


def test_empty_frame_and_unanswered_records() -> None:
    assert run(records()).empty
    df = run(records({"response": None}))
    assert reasons(df) == ["surplus"]  # not answered yet: not bad input
    df = run(records({"instruction": GOOD_INSTRUCTION, "response": GOOD_RESPONSE}))
    assert reasons(df) == [None]
