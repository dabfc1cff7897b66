"""`flows/prefect.yaml` deploys what exists: the entrypoint, a valid cron and a run config that
validates (a typo in a parameter would only surface at 2 am otherwise)."""

from __future__ import annotations

import importlib

import yaml
from prefect.client.schemas.schedules import CronSchedule

from datagen.config import RunConfig
from tests.conftest import REPO


def test_prefect_yaml_deployments_are_valid():
    data = yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())
    assert data["deployments"]
    for dep in data["deployments"]:
        path, name = dep["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, name).name == "generate_dataset"
        for sched in dep["schedules"]:
            CronSchedule(cron=sched["cron"], timezone=sched.get("timezone"))
        config = RunConfig.model_validate(dep["parameters"]["config"])
        for seed in config.seeds:
            assert (REPO / seed).exists(), seed
        assert config.append_to, "the nightly deployment grows a dataset"
