"""Shared fixtures: one embedded model server and one Prefect test harness per session, and the
deterministic scripted LLM (`tests/flows/world.py`) with run configs that use it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Prefect: a private home, no analytics, a generous ephemeral start-up; never PREFECT_API_URL="".
_PREFECT_HOME = tempfile.mkdtemp(prefix="datagen-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ.pop("PREFECT_API_URL", None)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["COLUMNS"] = "250"  # rich wraps at 80 otherwise: messages stay on one line
os.environ["HF_DATASETS_OFFLINE"] = "1"
for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
    os.environ.pop(var, None)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
NDA_SEED = SEEDS / "legal" / "nda_clauses.yaml"

from datagen.config import RunConfig  # noqa: E402  (after the environment above)
from tests.flows.world import handler  # noqa: E402
from tests.scripted_server import ScriptedServer  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def embedded() -> Iterator[object]:
    """The embedded llama.cpp server, started once for the whole session."""
    from datagen.llm.embedded import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def embedded_endpoint(embedded: object) -> object:
    from datagen.llm import embedded as emb
    from datagen.llm.endpoint import Endpoint

    return Endpoint(base_url=embedded.base_url, model=emb.MODEL_ALIAS, kind="embedded",  # type: ignore[attr-defined]
                    identity=emb.model_identity())


@pytest.fixture
def world() -> Iterator[ScriptedServer]:
    with ScriptedServer(handler) as server:
        yield server


@pytest.fixture
def make_config(tmp_path: Path, world: ScriptedServer) -> Callable[..., RunConfig]:
    def make(**overrides: Any) -> RunConfig:
        data: dict[str, Any] = {
            "seeds": [str(NDA_SEED)], "out": str(tmp_path / "run"), "pairs": 8,
            "llm": {"base_url": world.base_url, "model": "test-model", "max_retries": 0},
        }
        data.update(overrides)
        return RunConfig.model_validate(data)

    return make


@pytest.fixture
def api_url(prefect_harness: None) -> str:
    """The session harness's API, for child processes (they then skip their own server)."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())
