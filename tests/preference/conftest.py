"""One real run with preference pairs for these tests: the scripted world of
`tests/flows/world.py`, its judge scoring each answer by its text, through the real pipeline;
copied per test where a test changes it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datagen.config import RunConfig
from tests.conftest import NDA_SEED
from tests.flows.world import judging_handler
from tests.scripted_server import ScriptedServer


@pytest.fixture(scope="session")
def pref_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The run folder, and the requests the world was sent."""
    from datagen.run import run

    out = tmp_path_factory.mktemp("pref") / "run"
    with ScriptedServer(judging_handler) as world:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "out": str(out), "pairs": 24, "preference": {},
            "llm": {"base_url": world.base_url, "model": "test-model", "max_retries": 0}})
        asyncio.run(run(cfg))
    return out, list(world.requests)


@pytest.fixture
def pref_dir(pref_run: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "run"
    shutil.copytree(pref_run[0], copy, symlinks=True)
    yield copy
