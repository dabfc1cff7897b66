"""Endpoint problems give a DatagenError that says what to do, from the library and the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.config import LLMConfig
from datagen.errors import EndpointError
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import open_endpoint, redact_url, resolve
from tests.conftest import NDA_SEED
from tests.scripted_server import Reply, ScriptedServer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(EndpointError, match="cannot reach") as info:
        with open_endpoint(LLMConfig(base_url=url, model="m")):
            pass
    assert "--base-url" in str(info.value)


def test_wrong_model_name_lists_served_models() -> None:
    with ScriptedServer(lambda body, n: Reply("hi"), models=("alpha", "beta")) as server:
        with pytest.raises(EndpointError, match="'gamma' is not served") as info:
            with open_endpoint(LLMConfig(base_url=server.base_url, model="gamma")):
                pass
    assert "alpha, beta" in str(info.value)


def test_missing_key_for_remote_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_API_KEY", raising=False)
    cfg = LLMConfig(base_url="https://llm.example.com/v1", model="m", api_key_env="MY_API_KEY")
    with pytest.raises(EndpointError, match=r"\$MY_API_KEY is not set") as info:
        with open_endpoint(cfg):
            pass
    assert "export MY_API_KEY=" in str(info.value)


def test_rejected_key_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-" + "x" * 32
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    with ScriptedServer(lambda body, n: Reply(f"bad key {secret}", status=401)) as server:
        endpoint = resolve(LLMConfig(base_url=server.base_url, model="test-model"),
                           server.base_url)
        assert secret not in repr(endpoint)
        async def call() -> None:
            client = LLMClient(endpoint, None)
            try:
                await client.chat([{"role": "user", "content": "hi"}], params={})
            finally:
                await client.aclose()

        with pytest.raises(EndpointError) as info:
            asyncio.run(call())
        assert "401" in str(info.value)
        assert secret not in str(info.value)
        sent = {k.lower(): v for k, v in server.headers[-1].items()}
        assert sent["authorization"] == f"Bearer {secret}"  # the key did go where it belongs


def test_redact_url_drops_credentials() -> None:
    assert redact_url("https://user:pw@host.example:8443/v1?token=abc") == (
        "https://host.example:8443/v1"
    )


def test_cli_unreachable_endpoint_exit_code(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--out", str(tmp_path / "o"),
         "--base-url", url, "--model", "m", "--pairs", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == EndpointError.exit_code, proc.stderr[-2000:]
    assert "cannot reach the LLM endpoint" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_doctor_reports_endpoint_model_key_and_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-doctor-" + "y" * 30
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with ScriptedServer(lambda body, n: Reply("Hello there")) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "datagen.cli", "doctor", "--base-url", server.base_url],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert len(server.requests) == 1  # the live round trip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "test-model" in out and "local" in out
    assert "$OPENAI_API_KEY is set" in out
    assert "ok in" in out and "Hello there" in out
    assert secret not in out
