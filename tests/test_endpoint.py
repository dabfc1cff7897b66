"""Endpoint problems give a DatagenError that says what to do, from the library and the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
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


def test_a_key_in_the_base_url_query_is_sent_as_a_query_parameter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`?api-key=` in a base URL (gateways that take the key there): the path stays
    /v1/chat/completions and the key arrives whole, as a query parameter, on every route."""
    key = "gw-" + "k" * 29
    with ScriptedServer(lambda body, n: Reply("Hello there")) as server:
        url = f"{server.base_url}?api-key={key}"
        proc = subprocess.run(
            [sys.executable, "-m", "datagen.cli", "doctor", "--base-url", url],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert server.paths == [f"/v1/models?api-key={key}",
                                f"/v1/chat/completions?api-key={key}"]
        monkeypatch.setenv("OPENAI_BASE_URL", url)  # the library path: a run's client
        with open_endpoint(LLMConfig(model="test-model")) as endpoint:
            async def call() -> str | None:
                client = LLMClient(endpoint, None)
                try:
                    return (await client.chat([{"role": "user", "content": "hi"}],
                                              params={})).text
                finally:
                    await client.aclose()

            assert asyncio.run(call()) == "Hello there"
        assert server.paths[-1] == f"/v1/chat/completions?api-key={key}"
    assert "Hello there" in out and key not in out


def test_a_key_in_the_query_is_masked_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    from datagen.secrets import redact_logs, remember_url, scrub

    key = "gw-" + "m" * 29
    remember_url(f"http://127.0.0.1:1/v1?api-version=2&api-key={key}")
    redact_logs()
    logging.getLogger("httpx").warning("HTTP Request: POST http://h/v1/chat/completions"
                                       "?api-key=%s&api-version=2", key)
    assert key not in caplog.text and "***" in caplog.text
    assert key not in scrub(f"api-key={key}")


def _silent_port() -> tuple[socket.socket, int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock, sock.getsockname()[1]


def test_doctor_against_a_hanging_endpoint_gives_up_and_names_it(tmp_path: Path) -> None:
    """The models are listed, then the chat request hangs: doctor says what it waits for,
    gives up after its own short wait (not llm.timeout_s = 120 s, twice), and ends in one
    line naming the URL and what to check."""
    def hang(body: dict, n: int) -> Reply:
        return Reply("late", delay_s=90)

    with ScriptedServer(hang) as server:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "datagen.cli", "doctor", "--base-url", server.base_url],
            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
        took = time.monotonic() - started
    out = proc.stdout + proc.stderr
    assert proc.returncode == EndpointError.exit_code, out
    assert took < 10 + 20, took  # the doctor's wait, plus start-up
    assert f"{server.base_url}/chat/completions (waiting up to 10 s)" in out
    assert f"{server.base_url} accepted the connection but did not answer" in out
    assert "fix:" in out and "Traceback" not in out
    assert len(server.requests) == 1  # no retry


def test_doctor_models_list_against_a_silent_port_is_bounded() -> None:
    from datagen.llm.doctor import check

    sock, port = _silent_port()
    with sock:
        url = f"http://127.0.0.1:{port}/v1"
        started = time.monotonic()
        with pytest.raises(EndpointError, match="did not list its models within 1 s") as info:
            check(LLMConfig(base_url=url, timeout_s=1))
        assert time.monotonic() - started < 5  # once, no retry
    assert url in str(info.value) and info.value.hint
