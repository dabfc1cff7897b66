"""What the Prefect flow needs that is not a stage: where tasks run, how their results are
cached for resume, and what a flow run is called. Plain functions, testable without a flow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import xxhash
from prefect.cache_policies import TASK_SOURCE, CachePolicy, Inputs
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from datagen.config import OrchestrationConfig, RunConfig, from_parameters
from datagen.llm.endpoint import Endpoint


def _content(value: Any) -> Any:
    """A DataFrame or Series as a digest of its content (Prefect's own transform pickles the
    columns, and a frame read back from a persisted result pickles differently from the one
    computed, so a stage downstream of a cached stage would never hit its cache); an endpoint
    as its identity and model: its base URL changes each time the embedded model starts, and
    its API key must never be part of a key."""
    if isinstance(value, Endpoint):
        return ("endpoint", value.identity, value.model)
    if isinstance(value, pd.DataFrame | pd.Series):
        rows = pd.util.hash_pandas_object(value, index=True).to_numpy()
        shape = ([str(c) for c in value.columns], [str(t) for t in value.dtypes]) if isinstance(
            value, pd.DataFrame) else (str(value.name), str(value.dtype))
        return ("frame", shape, xxhash.xxh3_128_hexdigest(rows.tobytes()))
    return value


@dataclass
class ContentInputs(CachePolicy):
    """Prefect's INPUTS policy, with frames keyed by their content. (Not a subclass of
    `Inputs`: a compound policy would replace it with a plain `Inputs`.)"""

    exclude: list[str] = field(default_factory=list)

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        stable = {k: _content(v) for k, v in (inputs or {}).items() if k not in self.exclude}
        return Inputs().compute_key(task_ctx, stable, flow_parameters, **kwargs)

    def __sub__(self, other: str) -> CachePolicy:
        return replace(self, exclude=[*self.exclude, other])


STAGE_CACHE: CachePolicy = ContentInputs() + TASK_SOURCE
STAGE_RESULTS = "stages"
# The loggers through which Prefect reports an exception that ends a task or flow run.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class ExpectedErrors(logging.Filter):
    """Prefect logs an exception that ends a task or flow run with its traceback. datagen's
    own errors (`DatagenError`: a busy folder, an endpoint refusing the key, ...) and a full
    disk are expected outcomes whose message says what to do: their records keep the line
    (in the terminal and the flow run's logs in the UI) and drop the traceback. Any other
    exception keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from datagen.errors import DatagenError
        from datagen.files import disk_full

        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if exc is not None and (isinstance(exc, DatagenError) or disk_full(exc)):
            record.exc_info = None
            record.exc_text = None
        return True


def no_tracebacks_for_expected_errors() -> None:
    """Put `ExpectedErrors` on Prefect's run loggers (once; a flow module calls it on load,
    so served deployments and `datagen run` alike log expected errors without a traceback)."""
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedErrors) for f in logger.filters):
            logger.addFilter(ExpectedErrors())


def progress_to_run_logs() -> None:
    """Prefect hands its handlers to the `datagen` logger (PREFECT_LOGGING_EXTRA_LOGGERS, set
    in `flows/__init__`) but not a level: without INFO, the progress lines off a terminal
    would stop at the root logger's WARNING."""
    logger = logging.getLogger("datagen")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def stage_storage(out: str | Path) -> Path:
    """Stage results live in the run folder: a rerun with the same `out` finds them, and
    deleting the run folder forgets them along with the LLM cache. (A path, not an unsaved
    storage block, which Prefect refuses.)"""
    return (Path(out) / STAGE_RESULTS).resolve()


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
