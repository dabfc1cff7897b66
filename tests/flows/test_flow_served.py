"""`datagen schedule` serves the flow; a run triggered with `prefect deployment run` is picked
up by the served process and completes, against the scripted LLM on loopback. Two jobs over
the same seeds are two deployments, and an operator overrides one parameter at a time."""

from __future__ import annotations

import asyncio
import json
import os
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
from tests.processes import interruptible, stop

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


def _env(api_url: str) -> dict[str, str]:
    return {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}


def _serve(api_url: str, config: Path, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "datagen"), "schedule", str(config), "--cron",
                             "0 2 * * *", *extra], cwd=REPO, env=_env(api_url),
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            preexec_fn=interruptible)


async def _deployment(name: str) -> object:
    async with get_client() as client:
        found = await client.read_deployments(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=[name])))
    return found[0] if found else None


def test_served_deployment_run_completes(api_url, make_config, tmp_path, world):
    config = make_config(export={"target_models": []})  # 3 pairs: not for OpenAI
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    served = _serve(api_url, path, tmp_path / "serve.log", "--name", NAME)
    try:
        _wait(lambda: asyncio.run(_has_deployment()), "the deployment", 90, served)
        trigger = subprocess.run([str(BIN / "prefect"), "deployment", "run",
                                  f"generate_dataset/{NAME}", "--param", "pairs=3"], cwd=REPO,
                                 env=_env(api_url), capture_output=True, text=True, timeout=90)
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr

        def finished() -> object:
            runs = asyncio.run(_deployment_runs())
            done = [r for r in runs if r.state and r.state.is_final()]
            return done[0] if done else None

        run = _wait(finished, "the triggered run to finish", 150, served)
    finally:
        stop(served)
    logs = (tmp_path / "serve.log").read_text()[-3000:]
    assert run.state.is_completed(), f"{run.state}\n{logs}"
    assert run.name == f"nda_clauses -> run {date.today().isoformat()}"
    # `--param pairs=3` changed that one field: the config is the deployment's, whole
    assert run.parameters["pairs"] == 3
    assert RunConfig.model_validate(run.parameters["config"]) == config
    manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 3 and manifest["per_seed"]["legal-nda-clauses"][
        "target"] == 3
    assert manifest["config"]["llm"]["base_url"] == config.llm.base_url
    assert len(world.requests) > 0


def test_two_jobs_over_the_same_seeds_are_two_deployments(api_url, make_config, tmp_path):
    paths = {}
    for job, dataset in (("nightly", "legal"), ("weekly", "legal-weekly")):
        cfg = make_config(out=str(tmp_path / f"{job}-run"),
                          append_to=str(tmp_path / "datasets" / dataset))
        paths[job] = tmp_path / f"{job}.yaml"
        paths[job].write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    nightly = _serve(api_url, paths["nightly"], tmp_path / "nightly.log")
    weekly = None
    try:
        first = _wait(lambda: asyncio.run(_deployment("nightly-legal")), "nightly", 90, nightly)
        weekly = _serve(api_url, paths["weekly"], tmp_path / "weekly.log")
        second = _wait(lambda: asyncio.run(_deployment("weekly-legal-weekly")), "weekly", 90,
                       weekly)
        assert first.parameters["config"]["append_to"].endswith("datasets/legal")
        assert second.parameters["config"]["append_to"].endswith("datasets/legal-weekly")

        # another config under a name in use is refused, naming what differs
        clash = subprocess.run([str(BIN / "datagen"), "schedule", str(paths["weekly"]),
                                "--name", "nightly-legal"], cwd=REPO, env=_env(api_url),
                               capture_output=True, text=True, timeout=120)
        assert clash.returncode == 2, clash.stdout + clash.stderr
        assert "generate_dataset/nightly-legal exists with another config" in clash.stderr
        assert "append_to" in clash.stderr and "--replace" in clash.stderr

        listed = subprocess.run([str(BIN / "datagen"), "schedule", "--list"], cwd=REPO,
                                env={**_env(api_url), "COLUMNS": "200"}, capture_output=True,
                                text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert "nightly-legal" in listed.stderr and "weekly-legal-weekly" in listed.stderr
        assert "0 2 * * *" in listed.stderr

        stop(weekly)  # stopping one job leaves the other's deployment as it was
        weekly = None
        now = asyncio.run(_deployment("nightly-legal"))
        assert not now.paused and now.parameters == first.parameters
    finally:
        stop(nightly)
        if weekly is not None:
            stop(weekly)
