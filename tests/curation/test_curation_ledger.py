"""The rejection ledger: every record stays, with its reason, and `datagen rejected` reads it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from datagen.cli import app
from datagen.ledger import summary
from datagen.records import COLUMNS
from tests.curation.helpers import GOOD_INSTRUCTION, records, run


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
    result = CliRunner().invoke(app, ["rejected", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "blacklist_keyword" in result.output and "3 dropped" in result.output
    missing = CliRunner().invoke(app, ["rejected", str(tmp_path / "nope")])
    assert missing.exit_code != 0
