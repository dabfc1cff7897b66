"""`datagen schedule` serves the flow; a run triggered with `prefect deployment run` is picked
up by the served process and completes, against the scripted LLM on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

from datagen.config import RunConfig
from tests.conftest import REPO

BIN = Path(sys.executable).parent
NAME = "served-test"


async def _deployment_runs() -> list[object]:
    async with get_client() as client:
        return await client.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=[NAME])))


async def _has_deployment() -> bool:
    async with get_client() as client:
        found = await client.read_deployments(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=[NAME])))
    return bool(found)


def _wait(check, what: str, timeout: float, proc: subprocess.Popen) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the served process exited while waiting for {what}"
        if result := check():
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_served_deployment_run_completes(api_url, make_config, tmp_path, world):
    config = make_config()
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    log = (tmp_path / "serve.log").open("w")
    served = subprocess.Popen([str(BIN / "datagen"), "schedule", str(path), "--cron",
                               "0 2 * * *", "--name", NAME], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: asyncio.run(_has_deployment()), "the deployment", 90, served)
        trigger = subprocess.run([str(BIN / "prefect"), "deployment", "run",
                                  f"generate_dataset/{NAME}"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=90)
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr

        def finished() -> object:
            runs = asyncio.run(_deployment_runs())
            done = [r for r in runs if r.state and r.state.is_final()]
            return done[0] if done else None

        run = _wait(finished, "the triggered run to finish", 150, served)
    finally:
        served.send_signal(signal.SIGINT)
        try:
            served.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.kill()
            served.wait()
        log.close()
    logs = (tmp_path / "serve.log").read_text()[-3000:]
    assert run.state.is_completed(), f"{run.state}\n{logs}"
    assert run.name == f"nda_clauses {date.today().isoformat()}"
    assert RunConfig.model_validate(run.parameters["config"]) == config
    manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 8
    assert len(world.requests) > 0
