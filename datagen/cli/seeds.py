"""`datagen seeds validate` and `datagen seeds import`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from datagen.cli.app import seeds_app
from datagen.console import console, esc
from datagen.errors import ConfigError


@seeds_app.command("validate")
def seeds_validate(
    paths: Annotated[list[Path], typer.Argument(help="Seed files or folders.")],
    root: Annotated[list[Path] | None, typer.Option(
        "--root", help="A folder grounded seeds may read sources from, beside each seed's "
        "own (as the run config's `source_roots`); repeatable.")] = None,
    config: Annotated[Path | None, typer.Option(
        help="Run config YAML whose `source_roots` apply.")] = None,
) -> None:
    """Check seed files and the documents or tables they name, and list the files each
    grounded seed would read; errors name the file, the field and the fix."""
    from datagen.cli.app import build_config
    from datagen.seeds import load_seeds
    from datagen.seeds.roots import allowed_roots, source_files
    from datagen.seeds.sources import units

    roots = [*(build_config(None, config).source_roots if config else []), *(root or [])]
    for s in load_seeds(paths):
        if s.sources is None:
            console.print(f"[green]ok[/] {esc(s.id)}: {esc(s.domain)}, {s.language}, "
                          f"{s.pairs} pairs, {len(s.examples)} examples")
            continue
        files = source_files(s, roots)
        found = units(s, 0, roots)
        what = "rows" if s.sources.kind == "table" else "chunks"
        per_file = Counter(u.file for u in found)
        console.print(f"[green]ok[/] {esc(s.id)}: {esc(s.domain)}, {s.language}, {s.pairs} "
                      f"pairs, {len(s.examples)} examples, {len(found)} {what} from "
                      f"{len(per_file)} file(s)")
        allowed = allowed_roots(s, roots)
        if len(allowed) > 1:
            console.print(f"  may read from {esc(allowed[0])} (its folder) and "
                          f"{esc(', '.join(map(str, allowed[1:])))}", soft_wrap=True)
        console.print(f"  reads {len(files)} file(s), {_size(sum(f.size for f in files))}:")
        base = allowed[0]
        for f in files:
            where = f.path.relative_to(base) if f.path.is_relative_to(base) else f.path
            console.print(f"    {_size(f.size):>9}  {per_file[f.shown]:>5} {what}  "
                          f"{esc(where)}", soft_wrap=True)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} B"


@seeds_app.command("import")
def seeds_import(
    file: Annotated[Path, typer.Argument(help="A Self-Instruct / Alpaca seed_tasks.jsonl.")],
    out: Annotated[Path | None, typer.Option("--out", "-o",
                                             help="YAML to write (default: beside FILE).")] = None,
    seed_id: Annotated[str | None, typer.Option("--id", help="Seed id.")] = None,
    domain: Annotated[str, typer.Option(help="Domain of the seed.")] = "general",
    language: Annotated[str, typer.Option(help="ISO 639-1 language code.")] = "en",
    pairs: Annotated[int, typer.Option(min=1, help="Pairs wanted.")] = 100,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing YAML file.")
                     ] = False,
) -> None:
    """Convert seed_tasks.jsonl into a YAML seed (bootstrap strategy); `run` takes either."""
    from datagen.files import write_text
    from datagen.seeds.selfinstruct import import_tasks, seed_yaml

    target = out or file.with_suffix(".yaml")
    if target.is_dir():
        raise ConfigError(f"{target}: is a folder; --out names the YAML file to write",
                          hint=f"pass --out {target / file.with_suffix('.yaml').name}")
    if target.exists() and not force:
        raise ConfigError(f"{target}: exists already", hint="pass --force to replace it, or "
                          "--out to write elsewhere")
    seed = import_tasks(file, seed_id=seed_id, domain=domain, language=language, pairs=pairs)
    write_text(target, seed_yaml(seed))
    tasks = len({ex.task_id for ex in seed.examples})
    console.print(f"[green]ok[/] {esc(target)}: seed {esc(seed.id)}, {tasks} tasks, "
                  f"{len(seed.examples)} examples, "
                  f"{sum(ex.is_classification for ex in seed.examples)} classification")
