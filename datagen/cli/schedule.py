"""`datagen schedule`: serve the flow on a cron, or list datagen's deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datagen.cli.app import app, build_config, check_seeds, prefect_env
from datagen.config import RunConfig
from datagen.console import console, esc
from datagen.errors import ConfigError


@app.command()
def schedule(
    config: Annotated[Path | None, typer.Argument(
        help="Run config YAML: the deployment's parameters.")] = None,
    cron: Annotated[str, typer.Option(help="Cron schedule (UTC).")] = "0 2 * * *",
    name: Annotated[str | None, typer.Option(
        help="Deployment name (default: the config file's name and the dataset appended to)."
    )] = None,
    append_to: Annotated[Path | None, typer.Option(
        "--append-to", help="Each run appends to this dataset folder.")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace a deployment of this name that has another config.")
    ] = False,
    list_: Annotated[bool, typer.Option(
        "--list", help="List datagen's deployments (crons, targets) and exit.")] = False,
) -> None:
    """Serve the flow on a cron schedule until stopped (Ctrl-C). Runs show in the Prefect UI
    of the server $PREFECT_API_URL points at; trigger one now with `prefect deployment run`,
    overriding a parameter with `--param pairs=3`."""
    prefect_env()
    if list_:
        from flows.schedule import listing

        table = Table(title="datagen deployments (flow generate_dataset)")
        for col in ("name", "cron", "paused", "seeds", "pairs", "target"):
            table.add_column(col)
        for row in listing():
            table.add_row(esc(row["name"]), esc(row["cron"]), "yes" if row["paused"] else "no",
                          esc(", ".join(Path(s).name for s in row["seeds"])),
                          str(row["pairs"] or "seed's"), esc(str(row["target"] or "-")))
        console.print(table)
        return
    if config is None:
        raise ConfigError("no run config given",
                          hint="datagen schedule nightly.yaml --cron '0 2 * * *'")
    from flows.run_options import check_cron

    cfg = build_config(None, config, append_to=append_to.absolute() if append_to else None)
    if not cfg.seeds:
        raise ConfigError(f"{config}: no seeds", hint="add `seeds: [seeds/...yaml]`")
    check_cron(cron)
    _check_before_serving(cfg)
    from flows.schedule import check_identity, deployment_name, serve

    name = name or deployment_name(config, cfg)
    check_identity(name, cfg, cron, replace=replace)
    console.print(f"serving deployment generate_dataset/{esc(name)} on {esc(cron)} (Ctrl-C "
                  "stops and pauses it)")
    serve(cfg, cron=cron, name=name)


def _check_before_serving(cfg: RunConfig) -> None:
    """What every scheduled run would fail on, told now rather than each night: seeds that
    do not load (or whose names are not UTF-8) and an append target that is not a dataset."""
    from datagen.export.append import check_target

    check_seeds(cfg.seeds)
    if cfg.append_to:
        check_target(cfg.append_to)
