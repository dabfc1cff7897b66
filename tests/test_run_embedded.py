"""The whole run on the embedded model: real llama.cpp server, real openai client, real Prefect
flow, real `datasets` round trip. The model is tiny: these tests check structure, not content."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from datasets import load_dataset

from datagen.config import RunConfig
from datagen.records import COLUMNS
from tests.conftest import NDA_SEED, REPO

pytestmark = pytest.mark.embedded


def _config(out: Path, base_url: str, pairs: int = 3) -> RunConfig:
    return RunConfig.model_validate({
        "seeds": [str(NDA_SEED)], "out": str(out), "pairs": pairs, "seed": 7,
        "llm": {"base_url": base_url, "max_concurrency": 2},
        "generation": {"respond_max_tokens": 256},
    })


def check_run_folder(out: Path) -> dict:
    """Everything a run folder must hold, and counts that add up."""
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["generated"] == c["kept"] + c["dropped"]
    assert c["kept"] == c["train"] + c["validation"]
    assert sum(c["by_reason"].values()) == c["dropped"]
    assert manifest["split"]["leakage"]["crossing_pairs"] == 0
    assert {"openai", "datasets", "prefect"} <= set(manifest["versions"])

    records = pd.read_parquet(out / "records.parquet")
    assert list(records.columns) == list(COLUMNS)
    assert len(records) == c["generated"]
    assert records["id"].is_unique
    assert (~records["keep"]).sum() == c["dropped"]
    assert records.loc[~records["keep"], "drop_reason"].notna().all()

    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == c["dropped"]

    for split, n in (("train", c["train"]), ("validation", c["validation"])):
        lines = (out / "openai" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == n
        for line in lines:
            msgs = json.loads(line)["messages"]
            assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
            assert all(isinstance(m["content"], str) and m["content"] for m in msgs)
            assert "null" not in line

    ds = load_dataset(str(out / "hf"))
    assert ds["train"].num_rows == c["train"]
    assert ds["validation"].num_rows == c["validation"]
    assert {"messages", "instruction", "response", "seed_id", "domain", "language"} <= set(
        ds["train"].column_names
    )
    return manifest


def test_flow_run_then_rerun_makes_no_calls(tmp_path: Path, embedded, prefect_harness) -> None:
    from flows.generate_dataset import generate_dataset

    out = tmp_path / "run"
    cfg = _config(out, embedded.base_url)
    first = asyncio.run(generate_dataset(cfg))
    manifest = check_run_folder(out)
    assert first["counts"]["kept"] == manifest["counts"]["kept"] >= 2
    assert manifest["llm"]["requests"] > 0
    train_before = (out / "openai" / "train.jsonl").read_bytes()

    asyncio.run(generate_dataset(cfg))
    again = check_run_folder(out)
    assert again["llm"]["requests"] == 0  # everything came from the response cache
    assert again["llm"]["cache_hits"] == manifest["llm"]["requests"]
    assert (out / "openai" / "train.jsonl").read_bytes() == train_before


def test_cli_quickstart_on_embedded_default(tmp_path: Path) -> None:
    """`datagen run` with no endpoint configured starts the embedded model itself."""
    out = tmp_path / "cli"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "2",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = check_run_folder(out)
    assert manifest["endpoint"] == {"kind": "embedded", "model": "smollm2-135m-instruct"}
    assert "kept" in proc.stderr  # the summary table
