"""Serve `generate_dataset` on a cron schedule: a long-running process that creates the
deployment, polls the Prefect server for its scheduled (or manually triggered) runs and
executes each one in a subprocess. `flows/prefect.yaml` is the same deployment for
`prefect deploy` and a work pool."""

from __future__ import annotations

from datagen.config import RunConfig
from flows.generate_dataset import generate_dataset
from flows.prefect_bits import seed_set


def deployment_name(config: RunConfig) -> str:
    return f"nightly-{seed_set(config.seeds)}"


def serve(config: RunConfig, *, cron: str, name: str | None = None) -> None:
    """Block, serving the deployment `generate_dataset/<name>` with `config` as parameters."""
    generate_dataset.serve(
        name=name or deployment_name(config),
        cron=cron,
        parameters={"config": config.model_dump(mode="json")},
        tags=["datagen"],
        description=f"datagen: {', '.join(config.seeds)} -> {config.out}",
    )
