"""The manual's work-pool steps (docs/guides/nightly.md), as written, against a real Prefect
server: create a process pool, `prefect deploy` the shipped `flows/prefect.yaml`, start a
worker, trigger a run (with `--param` overrides, so it writes under the test's folder), and it
completes on the embedded model (the session's server, so its words are never asserted)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

from datagen.config import RunConfig
from tests.conftest import REPO
from tests.processes import interruptible, stop

BIN = Path(sys.executable).parent
DEPLOYMENT = "nightly-legal-pool"


def test_the_shipped_prefect_yaml_is_valid() -> None:
    """A typo in a parameter would only surface at 2 am otherwise."""
    from flows.run_options import run_config

    data = yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())
    (dep,) = data["deployments"]
    assert dep["entrypoint"] == "flows/generate_dataset.py:generate_dataset"
    p = dict(dep["parameters"])
    config = run_config(None, None, p.pop("overrides", None), **p)
    assert isinstance(config, RunConfig) and config.pairs == 8 and config.append_to
    assert config.allow_short  # its first nights hold fewer than OpenAI's 10 examples
    assert config.llm.base_url is None  # the embedded model: runs as shipped
    for seed in config.seeds:
        assert (REPO / seed).is_file(), seed


async def _runs() -> list[object]:
    async with get_client() as client:
        return await client.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=[DEPLOYMENT])))


@pytest.mark.embedded
def test_deploy_worker_trigger_completes(api_url, embedded, tmp_path: Path) -> None:
    from datagen.llm import embedded as emb

    env = {**os.environ, "PREFECT_API_URL": api_url, "PWD": str(REPO),
           "PREFECT_WORKER_QUERY_SECONDS": "1"}

    def prefect(*args: str) -> str:
        done = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    prefect("work-pool", "create", "datagen", "--type", "process", "--overwrite")
    prefect("deploy", "--prefect-file", "flows/prefect.yaml", "--all")
    overrides = {"llm": {"base_url": embedded.base_url, "model": emb.MODEL_ALIAS},
                 "curation": {"judge": {"enabled": "off"}},
                 "allow_short": True, "allow_empty": True}  # structure only, not the model's luck
    out, dataset = tmp_path / "run", tmp_path / "datasets" / "legal"
    prefect("deployment", "run", f"generate_dataset/{DEPLOYMENT}", "--param", "pairs=2",
            "--param", f"out={out}", "--param", f"append_to={dataset}",
            "--param", f"overrides={json.dumps(overrides)}")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "datagen"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=interruptible)
    try:
        deadline = time.monotonic() + 420
        while True:
            runs = asyncio.run(_runs())
            if runs and runs[0].state and runs[0].state.is_final():
                break
            assert time.monotonic() < deadline, "the run never finished"
            assert worker.poll() is None, "the worker exited"
            time.sleep(2)
    finally:
        stop(worker)
        log.close()
    run = runs[0]
    assert run.state.is_completed(), (run.state, (tmp_path / "worker.log").read_text()[-3000:])
    assert run.parameters["pairs"] == 2 and run.parameters["seeds"] == [
        "seeds/legal/nda_clauses.yaml"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["per_seed"]["legal-nda-clauses"]["target"] == 2
    assert manifest["config"]["seeds"] == [str(REPO / "seeds/legal/nda_clauses.yaml")]
    assert (dataset / "manifest.json").is_file()  # appended to the dataset the run named
    assert not (REPO / "outputs" / "nightly-legal-pool").exists()
