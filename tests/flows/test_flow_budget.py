"""The budget cap through the whole flow: generation stops before passing it, what was kept is
curated and exported, the CLI says how to continue, and a rerun with a higher cap finishes
without paying twice for any call."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from datagen.llm.cache import ResponseCache
from flows.generate_dataset import generate_dataset
from tests.runs import flow_summary

# $100 per 1M tokens: a call here costs about $0.004, its worst case (max_tokens) up to $0.08.
PRICES = {"test-model": {"input": 100.0, "output": 100.0}}


def test_budget_stops_generation_exports_what_was_kept_and_resumes(
    prefect_harness, make_config, world
) -> None:
    def config(cap: float):
        return make_config(pairs=8, llm={"base_url": world.base_url, "model": "test-model",
                                         "max_retries": 0, "max_concurrency": 1,
                                         "prices": PRICES, "max_cost_usd": cap},
                           export={"target_models": []})  # 8 pairs: not for OpenAI

    low = config(0.1)
    first = flow_summary(low)
    out = Path(low.out)
    assert first["outcome"] == "budget" and first["exit_code"] == 4
    assert "max_cost_usd" in first["message"]
    assert "rerun the same command" in first["hint"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert first["result"].budget_refused > 0
    assert manifest["llm"]["cost_usd"] <= 0.1
    assert 0 < manifest["counts"]["kept"] < 8  # some pairs, exported; the rest not paid for
    assert len((out / "openai" / "train.jsonl").read_text().splitlines()) >= 1
    paid = len(world.requests)
    assert paid == len(ResponseCache(out / "cache.sqlite"))

    second = asyncio.run(generate_dataset(config(10.0)))
    assert second["outcome"] == "complete"
    assert second["counts"]["kept"] == 8
    asked = [json.dumps(r, sort_keys=True) for r in world.requests]
    assert len(asked) == len(set(asked))  # no call was paid for twice


def test_cli_exits_4_after_exporting_on_budget(world, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import yaml

    from tests.conftest import NDA_SEED, REPO

    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"llm": {"model": "test-model", "max_concurrency": 1,
                                           "max_retries": 0, "prices": PRICES,
                                           "max_cost_usd": 0.1}}))
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "8", "--out",
         str(out), "--base-url", world.base_url, "--config", str(cfg)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
    )
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert "budget:" in proc.stderr and "raise llm.max_cost_usd" in proc.stderr
    assert (out / "manifest.json").is_file() and (out / "hf" / "README.md").is_file()
    assert "Traceback" not in proc.stderr
