"""Serve `generate_dataset` on a cron schedule: a long-running process that creates the
deployment, polls the Prefect server for its scheduled (or manually triggered) runs and
executes each one in a subprocess. `flows/prefect.yaml` is the same flow for `prefect deploy`
and a work pool.

A deployment is named by `--name`, else after its config file and the dataset it appends to
(`nightly.yaml` appending to `datasets/legal`: `nightly-legal`), so two jobs over the same
seeds are two deployments. Serving a different config or cron under a name that exists is
refused unless `replace`: serving silently replaces a deployment's parameters and schedule,
and stopping the server pauses it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from datagen.config import RunConfig
from datagen.errors import ConfigError
from flows.generate_dataset import generate_dataset

FLOW = "generate_dataset"
TAG = "datagen"


def deployment_name(config_file: str | Path, config: RunConfig) -> str:
    """`<config file>-<dataset appended to>`, as a slug."""
    parts = [Path(config_file).stem]
    if config.append_to:
        parts.append(Path(config.append_to).name)
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")[:60] or "datagen"


def parameters(config: RunConfig) -> dict[str, Any]:
    """The deployment's parameters: the whole config, so the UI's form is filled in; the
    top-level ones (`pairs`, `seeds`, `out`, `append_to`) are left for a run to override."""
    return {"config": config.model_dump(mode="json")}


async def _existing(name: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            return await client.read_deployment_by_name(f"{FLOW}/{name}")
        except ObjectNotFound:
            return None


def _crons(deployment: Any) -> list[str]:
    return [getattr(s.schedule, "cron", str(s.schedule)) for s in deployment.schedules or []]


def check_identity(name: str, config: RunConfig, cron: str, *, replace: bool) -> None:
    """Refuse to serve another config or cron under a deployment name that exists."""
    found = asyncio.run(_existing(name))
    if found is None or replace:
        return
    old = found.parameters.get("config") or {}
    new = parameters(config)["config"]
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if _crons(found) != [cron]:
        changed.append("cron")
    if changed:
        raise ConfigError(
            f"deployment {FLOW}/{name} exists with another config ({', '.join(changed[:6])} "
            f"differ; it appends to {old.get('append_to')}, out {old.get('out')}, cron "
            f"{', '.join(_crons(found)) or '-'})",
            hint="give this job its own --name, or --replace to replace that deployment")


def serve(config: RunConfig, *, cron: str, name: str) -> None:
    """Block, serving the deployment `generate_dataset/<name>` with `config` as parameters."""
    generate_dataset.serve(
        name=name, cron=cron, parameters=parameters(config), tags=[TAG],
        description=f"datagen: {', '.join(config.seeds)} -> {config.append_to or config.out}",
    )


async def _datagen_deployments() -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterTags,
        FlowFilter,
        FlowFilterName,
    )

    async with get_client() as client:
        return await client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW])),
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[TAG])))


def listing() -> list[dict[str, Any]]:
    """datagen's deployments: name, crons, paused, seeds, pairs, target."""
    rows = []
    for d in asyncio.run(_datagen_deployments()):
        p = d.parameters or {}
        c = p.get("config") or {}
        rows.append({
            "name": d.name, "cron": ", ".join(_crons(d)) or "-", "paused": bool(d.paused),
            "seeds": p.get("seeds") or c.get("seeds") or
            ([p["config_file"]] if p.get("config_file") else []),
            "pairs": p.get("pairs") or c.get("pairs"),
            "target": p.get("append_to") or c.get("append_to") or p.get("out") or c.get("out"),
        })
    return sorted(rows, key=lambda r: r["name"])
