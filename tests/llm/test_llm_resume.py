"""Crash-resume through the real CLI: SIGKILL mid-run, rerun, rerun again.

The killed run is a child process; the reruns run `datagen run` in the test process (which
never ran datagen before, so no state carries over), saving an interpreter start each.

The scripted server counts requests. A killed run loses nothing it was answered; the rerun
repeats none of those calls and completes the dataset; a third run makes no call at all and
writes the same dataset. The API key is scanned for in everything the runs left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import NDA_SEED, REPO
from tests.llm.helpers import world
from tests.scripted_server import Reply, ScriptedServer

SECRET = "sk-test-" + os.urandom(12).hex()
HELD_AFTER = 4  # answer this many requests, then hold every other until the kill


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True)


class HoldingWorld:
    """`world`, except that once `HELD_AFTER` requests were answered, new ones wait."""

    def __init__(self) -> None:
        self.hold = True
        self.release = threading.Event()

    def __call__(self, body: dict[str, Any], n: int) -> Reply:
        if self.hold and n >= HELD_AFTER:
            self.release.wait(30)
            return Reply("too late", status=503)  # the client is dead by now
        return world(body, n)


def datagen(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "datagen.cli", "run", *args], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            **kwargs)


def prefect_env(tmp_path: Path) -> dict[str, str]:
    """The session's Prefect server, so each run skips starting its own (6-9 s)."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update({"OPENAI_API_KEY": SECRET, "PREFECT_HOME": str(tmp_path / "prefect"),
                "PREFECT_API_URL": str(PREFECT_API_URL.value()), "NO_COLOR": "1",
                "COLUMNS": "200"})
    return env


def in_process(args: list[str], capfd: pytest.CaptureFixture) -> str:
    """`datagen run ARGS` in this process (on the session's Prefect server); its output.
    The command function is called directly: Prefect's log handlers keep the streams they
    first saw, which a CliRunner would close after the first invocation."""
    from datagen.cli import run

    seed, _, pairs, _, base_url, _, out = args
    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = SECRET
    try:
        run(seeds=[Path(seed)], out=Path(out), pairs=int(pairs), base_url=base_url, model=None,
            seed=None, config=None, batch=False, max_cost_usd=None)
    finally:
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved
    captured = capfd.readouterr()
    return captured.out + captured.err


def prefect_database() -> list[Path]:
    """The session Prefect server's database files (flow and task runs, logs, parameters)."""
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = str(PREFECT_API_DATABASE_CONNECTION_URL.value())
    db = Path(url.split(":///", 1)[1])
    return [p for p in db.parent.glob(db.name + "*") if p.is_file()]


def test_sigkill_then_rerun_repeats_no_completed_call(
    tmp_path: Path, prefect_harness: None, capfd: pytest.CaptureFixture
) -> None:
    script = HoldingWorld()
    out = tmp_path / "run"
    logs: list[str] = []
    with ScriptedServer(script) as server:
        args = [str(NDA_SEED), "--pairs", "6", "--base-url", server.base_url,
                "--out", str(out)]
        env = prefect_env(tmp_path)

        first = datagen(args, env)
        deadline = time.monotonic() + 60
        while len(server.requests) <= HELD_AFTER and first.poll() is None:
            assert time.monotonic() < deadline, "the first run never got going"
            time.sleep(0.05)
        time.sleep(0.5)  # let the client write the answered calls to its cache
        answered = [canonical(b) for b in server.completed]
        first.send_signal(signal.SIGKILL)
        logs.append(first.communicate(timeout=30)[0].decode())
        assert first.returncode == -signal.SIGKILL
        assert len(answered) == HELD_AFTER
        script.hold = False
        script.release.set()

        seen = len(server.requests)  # the rerun: in this process, which never ran datagen
        logs.append(in_process(args, capfd))
        rerun = [canonical(b) for b in server.requests[seen:]]
        repeated = [b for b in rerun if b in answered]
        assert repeated == []  # 0 repeated completed calls

        records = pd.read_parquet(out / "records.parquet")
        for body in map(json.loads, answered):  # 0 lost records: each answer is in the data
            text = world(body, 0).content
            items = [line.split(". ", 1)[1] for line in text.splitlines()]
            if re.search(r"Write \d+ new requests", body["messages"][-1]["content"]):
                assert set(items) <= set(records["instruction"])
            else:
                assert text in set(records["response"].dropna())
        train = (out / "openai" / "train.jsonl").read_bytes()

        seen = len(server.requests)
        logs.append(in_process(args, capfd))
        assert len(server.requests) == seen  # a rerun of a finished run makes 0 calls
        assert (out / "openai" / "train.jsonl").read_bytes() == train

    auth = {v for h in server.headers for k, v in h.items() if k.lower() == "authorization"}
    assert auth == {f"Bearer {SECRET}"}  # the key was really in use
    database = prefect_database()
    assert database  # the runs' Prefect records: flow runs, task runs, logs, parameters
    assert str(out).encode() in b"".join(p.read_bytes() for p in database)  # ours are there
    files = [*out.rglob("*"), *(tmp_path / "prefect").rglob("*"), *database]
    leaks = [str(p) for p in files if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []
    assert not any(SECRET in log or SECRET[8:] in log for log in logs)


@pytest.mark.parametrize("status", [401, 400])
def test_errors_never_show_the_key(tmp_path: Path, status: int) -> None:
    """A server that echoes the key in its error body: the error we raise is scrubbed."""
    import asyncio

    from datagen.errors import EndpointError
    from datagen.llm.wire import LLMCallError
    from tests.llm.helpers import PARAMS, ask, endpoint_for, make_client

    echo = Reply(f"Incorrect API key provided: {SECRET}", status=status)
    with ScriptedServer(lambda b, n: echo) as server:
        client = make_client(server.base_url,
                             endpoint=endpoint_for(server.base_url, api_key=SECRET))
        with pytest.raises((EndpointError, LLMCallError)) as info:
            asyncio.run(client.chat(ask(), params=PARAMS))
    shown = f"{info.value} {info.value!r} {getattr(info.value, 'hint', '')}"
    assert SECRET not in shown and SECRET[8:] not in shown and "***" in shown
    assert repr(client.endpoint).count(SECRET) == 0
