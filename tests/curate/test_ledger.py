"""The rejection ledger: every record stays, with its reason, and `datagen rejected` reads it."""

from __future__ import annotations

from pathlib import Path

from datagen.curate.ledger import summary
from datagen.records import COLUMNS
from tests.cli import cli
from tests.curate.helpers import GOOD_INSTRUCTION, records, run


def test_rejected_summarises_a_run_folder(tmp_path: Path) -> None:
    df = run(records(
        {},
        {"instruction": GOOD_INSTRUCTION.upper()},
        {"instruction": "Draw a diagram of the parties to this agreement."},
        {"instruction": "Explain the notice clause.", "seed_id": "other",
         "response": "As an AI language model I cannot help with legal questions today."},
    ))
    assert len(df) == 4  # nothing deleted
    df.astype(COLUMNS).to_parquet(tmp_path / "records.parquet")
    s = summary(df)
    assert s["by_reason"] == {"exact_duplicate": 1, "blacklist_keyword": 1, "refusal": 1}
    assert s["by_stage"] == {"dedup": 1, "heuristics": 2}
    assert s["by_seed"]["other"] == {"refusal": 1}
    code, out = cli("rejected", tmp_path)
    assert code == 0, out
    assert "blacklist_keyword" in out and "3 dropped" in out
    code, out = cli("rejected", tmp_path / "nope")
    assert code == 1 and "missing records" in out and "Traceback" not in out
