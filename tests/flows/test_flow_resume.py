"""A flow run killed mid-way (SIGKILL: no cleanup runs) and rerun with the same parameters
repeats no completed LLM call; a rerun of a finished run repeats no call and no stage."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from flows.generate_dataset import generate_dataset
from tests.flows.conftest import stage_states
from tests.flows.world import handler
from tests.scripted_server import ScriptedServer

CHILD = """
import asyncio, sys
from datagen.config import RunConfig
from flows.generate_dataset import generate_dataset
asyncio.run(generate_dataset(RunConfig.model_validate_json(open(sys.argv[1]).read())))
"""


def _cached(out: Path) -> int:
    with sqlite3.connect(out / "cache.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def test_killed_flow_resumes_with_no_repeated_llm_call(api_url, make_config, tmp_path):
    slow_after = 5  # expansion is fast; answers then trickle in, one at a time

    def slow(body, n):
        return handler(body, n, delay_s=0.4 if n >= slow_after else 0.0)

    with ScriptedServer(slow) as first:
        config = make_config(llm={"base_url": first.base_url, "model": "test-model",
                                  "max_retries": 0, "max_concurrency": 1},
                             export={"target_models": []})  # 8 pairs: not for OpenAI
        out = Path(config.out)
        (tmp_path / "config.json").write_text(config.model_dump_json())
        env = {**os.environ, "PREFECT_API_URL": api_url}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "config.json")],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while len(first.requests) < slow_after + 3 and child.poll() is None:
                assert time.monotonic() < deadline, "the child flow never got going"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the flow finished before it could be killed"
    assert not (out / "manifest.json").exists()
    done_before = _cached(out)
    assert done_before >= slow_after + 1  # expansion and at least one answer were paid for

    with ScriptedServer(handler) as second:
        config = make_config(llm={"base_url": second.base_url, "model": "test-model",
                                  "max_retries": 0, "max_concurrency": 1},
                             export={"target_models": []})  # 8 pairs: not for OpenAI
        result = asyncio.run(generate_dataset(config))
        # every request of the resumed run is new work: none of them was already answered
        assert len(second.requests) == _cached(out) - done_before
        assert len(second.requests) > 0
        assert result["counts"]["kept"] == 8

        second.requests.clear()
        again = asyncio.run(generate_dataset(config))
        assert second.requests == []  # finished: nothing is asked again
        states = asyncio.run(stage_states(again["flow_run_id"]))
    stages = {k: v for k, v in states.items() if k.split("-")[0] in
              ("expand", "respond", "curate", "split")}
    assert stages and set(stages.values()) == {"Cached"}, states
    assert again["counts"] == result["counts"]
