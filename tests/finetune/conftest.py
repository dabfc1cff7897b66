"""One real run folder for the fine-tuning tests (the scripted LLM of `tests/flows/world.py`
through the real pipeline), copied per test so each may change it; and one LoRA adapter
trained on it for the session (training is the slow part)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagen.config import RunConfig
from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.scripted_server import ScriptedServer


@pytest.fixture(scope="session")
def built_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datagen.run import run

    out = tmp_path_factory.mktemp("finetune-source") / "run"
    with ScriptedServer(handler) as world:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "out": str(out), "pairs": 30,
            "llm": {"base_url": world.base_url, "model": "test-model", "max_retries": 0},
        })
        asyncio.run(run(cfg))
    return out


@pytest.fixture
def run_dir(built_run: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "run"
    shutil.copytree(built_run, copy, symlinks=True)
    yield copy


@pytest.fixture(scope="session")
def adapter_run(built_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("peft", reason="the `train` extra is not installed")
    from datagen.finetune.lora import LoraRequest, train_adapter
    from datagen.finetune.source import training_data

    run_dir = tmp_path_factory.mktemp("lora") / "run"
    shutil.copytree(built_run, run_dir, symlinks=True)
    train_adapter(training_data(run_dir),
                  LoraRequest(steps=3, batch_size=2, max_length=128, learning_rate=2e-3))
    return run_dir
