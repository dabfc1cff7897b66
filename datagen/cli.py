"""The `datagen` command. DatagenErrors become a message and an exit code here, once."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datagen.config import RunConfig, load_config
from datagen.errors import DatagenError
from datagen.progress import console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Seed tasks in, a clean fine-tuning corpus out.")
seeds_app = typer.Typer(no_args_is_help=True, help="Work with seed files.")
app.add_typer(seeds_app, name="seeds")


def _prefect_env() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if os.environ.get("PREFECT_API_URL") == "":
        del os.environ["PREFECT_API_URL"]  # empty breaks the ephemeral server


def build_config(seeds: list[Path], config: Path | None, out: Path | None, pairs: int | None,
                 model: str | None, base_url: str | None, seed: int | None) -> RunConfig:
    cfg = load_config(config) if config else RunConfig()
    data = cfg.model_dump()
    if seeds:
        data["seeds"] = [str(s) for s in seeds]
    for key, value in (("out", str(out) if out else None), ("pairs", pairs), ("seed", seed)):
        if value is not None:
            data[key] = value
    if model:
        data["llm"]["model"] = model
    if base_url:
        data["llm"]["base_url"] = base_url
    return RunConfig.model_validate(data)


@app.command()
def run(
    seeds: Annotated[list[Path], typer.Argument(help="Seed YAML files or folders.")] = None,  # type: ignore[assignment]
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder.")] = None,
    pairs: Annotated[int | None, typer.Option(help="Pairs wanted per seed.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
) -> None:
    """Generate a dataset: expand, respond, curate, split, export (a Prefect flow)."""
    cfg = build_config(seeds or [], config, out, pairs, model, base_url, seed)
    if not cfg.seeds:
        raise DatagenError("no seeds given", hint="datagen run seeds/legal/nda_clauses.yaml")
    preflight(cfg)
    _prefect_env()
    from flows.generate_dataset import generate_dataset

    started = time.perf_counter()
    try:
        result = asyncio.run(generate_dataset(cfg, return_state=False))
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: every completed LLM call is saved in "
                      f"{cfg.out}/cache.sqlite; rerun the same command to resume.")
        raise typer.Exit(130) from None
    _print_summary(result, time.perf_counter() - started)


def preflight(cfg: RunConfig) -> None:
    """Fail fast, before Prefect starts, on bad seeds or an unusable endpoint."""
    from datagen.llm import embedded
    from datagen.llm.endpoint import configured_base_url, resolve
    from datagen.seeds import load_seeds

    load_seeds(cfg.seeds)
    base_url = configured_base_url(cfg.llm)
    if base_url:
        resolve(cfg.llm, base_url)
    else:
        embedded.check_installed()


def _print_summary(result: dict[str, Any], seconds: float) -> None:
    c = result["counts"]
    table = Table(title=f"datagen run -> {result['out']}  ({seconds:.1f} s)")
    table.add_column("stage")
    table.add_column("records", justify="right")
    table.add_row("generated", str(c["generated"]))
    for reason, n in c["by_reason"].items():
        table.add_row(f"  dropped: {reason}", str(n))
    table.add_row("kept", str(c["kept"]))
    table.add_row("  train", str(c["train"]))
    table.add_row("  validation", str(c["validation"]))
    console.print(table)
    short = {k: v["shortfall"] for k, v in result["per_seed"].items() if v["shortfall"]}
    if short:
        console.print(f"[yellow]short of target[/]: {short} (raise generation.max_rounds or "
                      "use a stronger model)")


@app.command()
def doctor(
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
) -> None:
    """Show which endpoint and model a run would use, whether a key is set, and try one call."""
    from datagen.llm.doctor import check

    cfg = build_config([], config, None, None, model, base_url, None)
    report = check(cfg.llm)
    table = Table(title="datagen doctor", show_header=False)
    for key, value in report.items():
        table.add_row(key, str(value))
    console.print(table)


@seeds_app.command("validate")
def seeds_validate(
    paths: Annotated[list[Path], typer.Argument(help="Seed files or folders.")],
) -> None:
    """Check seed files; errors name the file, the field and the fix."""
    from datagen.seeds import load_seeds

    seeds = load_seeds(paths)
    for s in seeds:
        console.print(f"[green]ok[/] {s.id}: {s.domain}, {s.language}, {s.pairs} pairs, "
                      f"{len(s.examples)} examples")


def main() -> None:
    try:
        app()
    except DatagenError as exc:
        console.print(f"[red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            console.print(f"  [bold]fix:[/] {exc.hint}", highlight=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
