"""A run whose `openai/train.jsonl` OpenAI would refuse (fewer than its 10 examples) says so in
its exit code, 5, as `datagen validate` does on the same file; a run whose data is not for
OpenAI (`export.target_models: []`) ends as before."""

from __future__ import annotations

import asyncio
from pathlib import Path

from datagen.run import run
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.scripted_server import ScriptedServer


def test_too_few_training_examples_exit_5_like_validate(prefect_harness, world: ScriptedServer,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("llm:\n  max_retries: 0\n")
    out = tmp_path / "run"
    code, text = cli("run", NDA_SEED, "--pairs", "8", "--out", out, "--base-url",
                     world.base_url, "--model", "test-model", "--config", config)
    assert code == 5, text
    assert "too_few" in text and "OpenAI would refuse" in text and "export.target_models" in text
    assert "Traceback" not in text
    train = out / "openai" / "train.jsonl"
    assert 0 < len(train.read_text().splitlines()) < 10  # exported all the same
    code, text = cli("validate", train)
    assert code == 5, text
    code, text = cli("run", NDA_SEED, "--pairs", "8", "--out", out, "--base-url",
                     world.base_url, "--model", "test-model", "--config", config, "--json")
    assert code == 5 and '"outcome": "too_few"' in text and '"exit_code": 5' in text
    code, text = cli("run", NDA_SEED, "--pairs", "8", "--out", out, "--base-url",
                     world.base_url, "--model", "test-model", "--config", config, "--allow-short")
    assert code == 0, text  # a small dataset, accepted explicitly


def test_no_openai_target_no_openai_minimum(make_config) -> None:
    result = asyncio.run(run(make_config(export={"target_models": []})))
    assert result.counts["train"] < 10
    assert result.outcome().name == "complete", result.outcome().message


def test_enough_examples_pass(make_config) -> None:
    result = asyncio.run(run(make_config(pairs=14)))
    assert result.counts["train"] >= 10
    assert result.outcome().name == "complete", result.outcome().message


def test_an_allowed_empty_run_stays_allowed(make_config) -> None:
    from tests.scripted_server import Reply

    with ScriptedServer(lambda body, n: Reply("I cannot list anything.")) as server:
        cfg = make_config(llm={"base_url": server.base_url, "model": "test-model",
                               "max_retries": 0})
        result = asyncio.run(run(cfg))
    assert result.counts["kept"] == 0
    assert result.outcome(allow_empty=True, allow_short=True).name == "complete"
    assert result.outcome().name == "empty"
