"""Shared fixtures: one embedded model server and one Prefect test harness per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
