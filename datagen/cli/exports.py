"""`datagen validate` (the OpenAI pre-flight) and `datagen push` (the Hub)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datagen.cli.app import app
from datagen.config import RunConfig, load_config
from datagen.console import console, esc
from datagen.errors import ConfigError


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="OpenAI chat JSONL files.")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Target model to price (repeatable).")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML (prices).")] = None,
) -> None:
    """Pre-flight check of OpenAI fine-tuning files: format errors, too few examples, tokens,
    epochs, cost. Exits 5 when OpenAI would reject a file."""
    from datagen.errors import ExportError
    from datagen.export.validate import tables, validate_file

    export = (load_config(config) if config else RunConfig()).export
    failed = []
    for path in files:
        report = validate_file(path, model or export.target_models, export.prices,
                               strict=True)
        for table in tables(report):
            console.print(table)
        if not report["passed"]:
            failed.append(path.name)
    if failed:
        raise ExportError(f"OpenAI would reject {', '.join(failed)}",
                          hint="fix what is listed above")


@app.command()
def push(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (its hf/ is uploaded).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hub dataset repo, ORG/NAME.")],
    public: Annotated[bool, typer.Option("--public", help="Make the repo public.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List files; upload nothing.")] = False,
) -> None:
    """Upload a run's dataset to the Hugging Face Hub (private unless --public).
    The token comes from HF_TOKEN or `hf auth login`."""
    from datagen.export.hub import push_run
    from datagen.files import locked
    from datagen.run.folder import RunFolder, is_run_folder

    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    folder = RunFolder(run_dir)
    with locked(folder.root, "push"):
        plan = push_run(folder.hf, folder.manifest, repo_id, private=not public,
                        dry_run=dry_run)
    table = Table(title=f"{'would upload' if dry_run else 'uploaded'} to {esc(plan.repo_id)} "
                        f"({'private' if plan.private else 'public'} dataset)")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for name, size in plan.files:
        table.add_row(esc(name), f"{size:,}")
    table.add_row("[bold]total[/]", f"[bold]{plan.total_bytes:,}[/]")
    console.print(table)
    if plan.commit:
        console.print(f"commit {esc(plan.commit)}")
