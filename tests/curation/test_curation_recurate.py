"""`datagen curate RUN_DIR`: new verdicts, split and exports from the stored records alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from datagen import pipeline
from datagen.cli import app
from datagen.config import RunConfig
from datagen.llm.endpoint import Endpoint
from tests.conftest import NDA_SEED
from tests.curation.helpers import GOOD_RESPONSE, records

TOPICS = ("indemnity", "termination", "assignment")


def finished_run(root: Path) -> Path:
    """A run folder as `datagen run` leaves it, made from hand-written records."""
    plan = pipeline.plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(root), pairs=2))
    sid = plan.seeds[0].id
    df = records(*({"seed_id": sid,
                    "instruction": f"Explain how a {t} clause works in a supplier contract.",
                    "response": GOOD_RESPONSE + (" Questions: ann@example.com." if i == 0 else "")}
                   for i, t in enumerate(TOPICS)))
    df = pipeline.curate_stage(plan, df)
    labels, info = pipeline.split_stage(plan, df)
    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model="m", kind="local", identity="t")
    pipeline.export_stage(plan, df, labels, info, endpoint, {}, {}, {})
    return root


def test_recurate_with_a_new_config_rewrites_verdicts_and_exports(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "run")
    before = pd.read_parquet(run_dir / "records.parquet")
    assert before["drop_reason"].fillna("").tolist() == ["", "", "surplus"]
    exported = "".join(p.read_text() for p in (run_dir / "openai").glob("*.jsonl"))
    assert "ann@example.com" in exported
    config = tmp_path / "strict.yaml"
    config.write_text("curation:\n  pii: drop\n")
    result = CliRunner().invoke(app, ["curate", str(run_dir), "--config", str(config)])
    assert result.exit_code == 0, result.output
    after = pd.read_parquet(run_dir / "records.parquet")
    assert after["drop_reason"].fillna("").tolist() == ["pii", "", ""]  # the spare moves up
    exported = "".join(p.read_text() for p in (run_dir / "openai").glob("*.jsonl"))
    assert "ann@example.com" not in exported and "assignment" in exported
    assert "pii" in (run_dir / "rejected.jsonl").read_text()
