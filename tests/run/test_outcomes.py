"""How a run ended is a value, and the CLI maps it to its documented exit code: failed calls
(6, naming the real error), nothing kept (7), short of target (8), and SIGTERM (130)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.scripted_server import Reply, ScriptedServer


def _run(server: ScriptedServer, out: Path, *extra: object) -> tuple[int, str]:
    config = out.parent / "run.yaml"
    config.write_text("llm:\n  max_retries: 0\n")
    return cli("run", NDA_SEED, "--pairs", "4", "--out", out, "--base-url", server.base_url,
               "--model", "test-model", "--config", config, *extra)


@pytest.mark.parametrize("status", [500, 400])
def test_a_run_whose_calls_fail_exits_6_and_names_the_error(prefect_harness, tmp_path: Path,
                                                            status: int) -> None:
    with ScriptedServer(lambda body, n: Reply("boom", status=status)) as server:
        code, out = _run(server, tmp_path / "run")
    assert code == 6, out
    assert f"http_{status}" in out and "LLM calls failed" in out
    assert "stronger model" not in out and "Traceback" not in out
    assert (tmp_path / "run" / "manifest.json").is_file()  # what exists is still exported


def test_nothing_kept_exits_7_unless_allowed(prefect_harness, tmp_path: Path) -> None:
    with ScriptedServer(lambda body, n: Reply("I cannot list anything.")) as server:
        code, out = _run(server, tmp_path / "a")
        assert code == 7 and "no pair was kept" in out, out
        code, out = _run(server, tmp_path / "b", "--allow-empty", "--allow-short")
        assert code == 0, out


def _same(body: dict, n: int) -> Reply:
    """A model that asks the same one request every time: a seed that stalls short."""
    if "numbered list" in body["messages"][-1]["content"]:
        return Reply("1. Draft an NDA clause on permitted use by a software reseller.")
    return handler(body, n)


def test_short_of_target_exits_8_unless_allowed(prefect_harness, tmp_path: Path) -> None:
    with ScriptedServer(_same) as server:
        code, out = _run(server, tmp_path / "a")
        assert code == 8 and "short of target" in out, out
        # one request a call: 4 rounds see 4 instructions, too few to call the seed stalled
        assert "max_rounds" in out and "new instructions in the last 4 rounds" in out, out
        code, out = _run(server, tmp_path / "b", "--allow-short")
        assert code == 0, out


def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    def slow(body: dict, n: int) -> Reply:
        return handler(body, n, delay_s=0.3)

    with ScriptedServer(slow) as server:
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "40",
             "--out", str(tmp_path / "run"), "--base-url", server.base_url,
             "--model", "test-model"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while len(server.completed) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, "never got going"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out[-2000:]
    assert "interrupted" in out and "rerun the same command" in out
    assert "Traceback" not in out


def test_the_flow_run_state_shows_a_short_run(prefect_harness, tmp_path: Path) -> None:
    """A scheduler tells a full dataset from a partial one by the flow run's state."""
    import asyncio

    from datagen.config import RunConfig
    from flows.generate_dataset import generate_dataset

    with ScriptedServer(_same) as server:
        for allow_short, out in ((False, "a"), (True, "b")):
            config = RunConfig.model_validate({
                "seeds": [str(NDA_SEED)], "out": str(tmp_path / out), "pairs": 4,
                "allow_short": allow_short,
                "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0}})
            state = asyncio.run(generate_dataset(config, return_state=True))
            if allow_short:
                assert state.is_completed(), state
            else:
                assert state.is_failed() and state.message.startswith("short:"), state
                error = state.result(raise_on_failure=False)
                assert error.exit_code == 8 and error.summary["outcome"] == "short"
