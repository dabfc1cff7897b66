"""What `datagen run` prints while it works: a live board with an ETA on a terminal (a real
pseudo-terminal here), plain periodic log lines through Prefect's logger off one, nothing but
the final table with `--quiet`, and one JSON object on stdout with `--json`."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.scripted_server import Reply, ScriptedServer


def _slow(body: dict, n: int) -> Reply:
    return handler(body, n, delay_s=0.15)


def _argv(server: ScriptedServer, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "12",
            "--out", str(out), "--base-url", server.base_url, "--model", "test-model", *extra]


def _env(api_url: str, **extra: str) -> dict[str, str]:
    """The session's Prefect server (no temporary server per run), no inherited quiet."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATAGEN_PROGRESS", "PREFECT_LOGGING_LEVEL")}
    return {**env, "PREFECT_API_URL": api_url, "COLUMNS": "160", **extra}


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `argv` with stdout and stderr on a pseudo-terminal; (exit code, what it drew)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower,
                            env=env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the follower side closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_a_live_board_with_eta(api_url: str, tmp_path: Path) -> None:
    with ScriptedServer(_slow) as server:
        code, drawn = _on_a_terminal(_argv(server, tmp_path / "run"),
                                     _env(api_url, TERM="xterm-256color"))
    assert code == 0, drawn[-3000:]
    assert "\x1b[" in drawn  # redrawn in place, not scrolled
    assert "run: pairs kept" in drawn and "ETA" in drawn
    assert re.search(r"respond\S*\s.*\d+/\d+", drawn), drawn[-3000:]
    assert "in flight" in drawn and "tok" in drawn
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    # each finished stage leaves one summary line with its totals
    assert re.search(r"respond: (\d+)/\1 \(100%\), 0 in flight, .*ETA 0s", plain), plain[-3000:]


def test_off_a_terminal_progress_is_plain_log_lines(api_url: str, tmp_path: Path) -> None:
    with ScriptedServer(_slow) as server:
        proc = subprocess.run(_argv(server, tmp_path / "run"), env=_env(api_url),
                              capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "\x1b[" not in out and "\r" not in out
    stage = [line for line in out.splitlines()
             if re.search(r"datagen.progress - respond: \d+/\d+", line)]
    assert stage and all("ETA" in line and "INFO" in line for line in stage), out[-3000:]
    run_lines = [line for line in out.splitlines() if "run: " in line and "pairs kept" in line]
    assert run_lines and "ETA" in run_lines[-1]
    assert "12/12 pairs kept" in run_lines[-1]


def test_quiet_prints_the_table_and_json_prints_one_object(api_url: str,
                                                            tmp_path: Path) -> None:
    with ScriptedServer(handler) as server:
        quiet = subprocess.run(_argv(server, tmp_path / "a", "--quiet"), env=_env(api_url),
                               capture_output=True, text=True, timeout=300)
        as_json = subprocess.run(_argv(server, tmp_path / "b", "--json"), env=_env(api_url),
                                 capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    text = quiet.stdout + quiet.stderr
    assert "kept" in text and "train" in text  # the final table
    assert "respond:" not in text and "INFO" not in text and "pre-flight" not in text
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    summary = json.loads(as_json.stdout)  # stdout holds the summary and nothing else
    assert summary["outcome"] == "complete" and summary["exit_code"] == 0
    assert summary["counts"]["kept"] == 12
    assert summary["counts"]["train"] + summary["counts"]["validation"] == 12
    assert Path(summary["files"]["train"]).is_file()
    assert Path(summary["files"]["report"]).is_file()
    assert "respond:" not in as_json.stderr
