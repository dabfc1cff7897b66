"""How a flow run is set up from its parameters: its run config, where its tasks run, what
it is called, where its artifacts go, and whether a schedule's cron is valid. Plain functions,
testable without a flow.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from datagen.config import OrchestrationConfig, RunConfig, from_parameters


def task_runner(cfg: OrchestrationConfig) -> TaskRunner:
    """Threads by default; a Dask cluster (existing, or a LocalCluster) by config."""
    if cfg.task_runner == "threads":
        return ThreadPoolTaskRunner()
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # the `dask` extra is optional
        from datagen.errors import ConfigError

        raise ConfigError("orchestration.task_runner is `dask` but prefect-dask is missing",
                          hint="pip install 'datagen[dask]'") from exc
    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": cfg.dask_workers, "threads_per_worker": 1, "processes": True,
        "dashboard_address": ":0",  # any free port: never collide with another cluster
    })


def seed_set(seeds: list[str]) -> str:
    """A short name for a run's seed files: `nda_clauses+customer_support`."""
    names = [str(s).rstrip("/").rsplit("/", 1)[-1].removesuffix(".yaml") for s in seeds]
    return "+".join(names)[:60] or "seeds"


def run_config(config: RunConfig | dict[str, Any] | None, config_file: str | None,
               overrides: dict[str, Any] | None, **top: Any) -> RunConfig:
    """The flow's parameters as one RunConfig (`datagen.config.from_parameters`)."""
    if isinstance(config, RunConfig) and not config_file and not overrides and \
            all(v is None for v in top.values()):
        return config
    return from_parameters(config, config_file=config_file, overrides=overrides, **top)


def target(config: RunConfig) -> str:
    """What a run grows: the dataset it appends to, else its run folder."""
    return Path(config.append_to or config.out).name or "run"


def run_name(parameters: dict[str, Any], today: date | None = None) -> str:
    """`<seed set> -> <target> <date>`, so runs read well in the UI."""
    day = (today or date.today()).isoformat()
    try:
        config = run_config(parameters.get("config"), parameters.get("config_file"),
                            parameters.get("overrides"),
                            **{k: parameters.get(k) for k in ("seeds", "pairs", "out",
                                                              "append_to")})
    except Exception:  # a bad parameter fails the run itself, with its message
        return f"datagen {day}"
    return f"{seed_set(config.seeds)} -> {target(config)} {day}"


def artifact_key(config: RunConfig) -> str:
    """Artifacts are keyed by the deployment a run belongs to, else by its target, so two
    jobs that share seeds keep two histories."""
    from prefect.runtime import deployment

    name = deployment.name if deployment.id else None
    return name or f"{seed_set(config.seeds)}-{target(config)}"


def check_cron(cron: str) -> None:
    """A ConfigError for a cron expression Prefect would refuse."""
    from prefect.client.schemas.schedules import CronSchedule

    from datagen.errors import ConfigError

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise ConfigError(f"--cron {cron!r}: not a valid cron schedule "
                          f"({str(exc).splitlines()[-1][:120]})",
                          hint='five fields: minute hour day month weekday, e.g. "0 2 * * *"') \
            from None
