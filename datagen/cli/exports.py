"""`datagen validate` (the OpenAI pre-flight) and `datagen push` (the Hub)."""

from __future__ import annotations

import os
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
    from datagen.export.validate import validate_file
    from datagen.export.validate_report import tables

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
    run_dir: Annotated[Path, typer.Argument(
        metavar="FOLDER", help="A run folder (its hf/ is uploaded), or a dataset folder that "
        "runs appended to (the whole dataset is; so is it for a run that appended).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hub dataset repo, ORG/NAME.")],
    public: Annotated[bool, typer.Option("--public", help="Make the repo public.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List files; upload nothing, "
                                          "write nothing.")] = False,
) -> None:
    """Upload a run's dataset to the Hugging Face Hub (private unless --public); files under
    data/ and plots/ that the dataset no longer has are deleted from the repo. The token
    comes from HF_TOKEN or `hf auth login`."""
    from datagen.export.hub import check_repo_id, push_run
    from datagen.files import locked

    check_repo_id(repo_id)
    root = pushed_folder(run_dir)
    if root != run_dir:
        console.print(f"{esc(run_dir)} appended to {esc(root)}: pushing the whole dataset")
    hf, manifest = root / "hf", root / "manifest.json"
    if dry_run:  # reads only: no lock, so a read-only folder can be listed
        plan = push_run(hf, manifest, repo_id, private=not public, dry_run=True)
    else:
        if not os.access(root, os.W_OK | os.X_OK):
            raise ConfigError(f"{root}: not writable; a push holds the folder's lock and "
                              "records itself in its manifest",
                              hint="push as a user who can write there (`--dry-run` only "
                                   "reads)")
        with locked(root, "push"):
            plan = push_run(hf, manifest, repo_id, private=not public)
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


def pushed_folder(path: Path) -> Path:
    """The folder whose `hf/` a push uploads: a dataset folder as given; a run folder's own,
    except for a run that appended, whose `hf/` holds one night only: then the dataset it
    grew (pushing a night would replace the Hub copy with that night)."""
    from datagen.export.append import is_dataset
    from datagen.run.folder import RunFolder, is_run_folder

    if is_dataset(path):
        return path
    if not is_run_folder(path):
        raise ConfigError(f"{path}: not a datagen run folder or dataset folder",
                          hint="pass a folder written by `datagen run`, or the dataset folder "
                               "it appended to")
    config = RunFolder(path).read_config().get("config")
    target = config.get("append_to") if isinstance(config, dict) else None
    if not target:
        return path
    if not is_dataset(Path(target)):
        raise ConfigError(f"{path} appended to {target}, which is not a dataset folder now",
                          hint="push the dataset folder itself (`datagen push DATASET_DIR`)")
    return Path(target)
