"""`datagen curate RUN_DIR`: new verdicts, split and exports from the stored records alone,
as a new generation of the run folder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd

from datagen.config import RunConfig
from datagen.run import finish
from datagen.run.fanout import LocalFanout
from datagen.run.plan import plan_run
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.curate.helpers import GOOD_RESPONSE, records

TOPICS = ("indemnity", "termination", "assignment")


def finished_run(root: Path) -> Path:
    """A run folder as `datagen run` leaves it, made from hand-written records."""
    plan = plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(root), pairs=2))
    sid = plan.seeds[0].id
    df = records(*({"seed_id": sid,
                    "instruction": f"Explain how a {t} clause works in a supplier contract.",
                    "response": GOOD_RESPONSE + (" Questions: ann@example.com." if i == 0 else "")}
                   for i, t in enumerate(TOPICS)))
    asyncio.run(finish(plan, LocalFanout(), df, None, {"kind": "local", "model": "m"}, {}, {},
                       {}))
    return root


def test_recurate_with_a_new_config_rewrites_verdicts_and_exports(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "run")
    before = pd.read_parquet(run_dir / "records.parquet")
    assert before["drop_reason"].fillna("").tolist() == ["", "", "surplus"]
    first = json.loads((run_dir / "manifest.json").read_text())["generation_id"]
    exported = "".join(p.read_text() for p in (run_dir / "openai").glob("*.jsonl"))
    assert "ann@example.com" in exported
    config = tmp_path / "strict.yaml"
    config.write_text("curation:\n  pii:\n    mode: drop\n")
    code, out = cli("curate", run_dir, "--config", config)
    assert code == 0, out
    after = pd.read_parquet(run_dir / "records.parquet")
    assert after["drop_reason"].fillna("").tolist() == ["pii", "", ""]  # the spare moves up
    exported = "".join(p.read_text() for p in (run_dir / "openai").glob("*.jsonl"))
    assert "ann@example.com" not in exported and "assignment" in exported
    assert "pii" in (run_dir / "rejected.jsonl").read_text()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["generation_id"] != first
    assert (run_dir / "hf" / ".generation").read_text().strip() == manifest["generation_id"]


def test_curate_refuses_what_is_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, out = cli("curate", tmp_path)
    assert code == 2 and "not a datagen run folder" in out
    assert (tmp_path / "notes.txt").read_text() == "mine"
