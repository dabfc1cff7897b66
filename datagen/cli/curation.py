"""`datagen curate`, `rejected` and `report`: look at a finished run and re-curate it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datagen.cli.app import app, judge_flags
from datagen.cli.runs import JudgeModel, JudgeURL, report_run
from datagen.config import load_config, validated
from datagen.console import console, esc
from datagen.errors import ConfigError


@app.command()
def curate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    config: Annotated[Path | None, typer.Option(
        help="Run config YAML whose `curation` section replaces the run's.")] = None,
    verdicts: Annotated[Path | None, typer.Option(
        help="A reviewer's verdicts (JSONL from the report's viewer): keep or drop per id, "
             "before every other check.")] = None,
    judge_base_url: JudgeURL = None,
    judge_model: JudgeModel = None,
) -> Any:
    """Re-curate a finished run (new thresholds, checks, eval sets, human verdicts) with no
    LLM call, then rewrite its split and exports as a new generation. With --judge-base-url
    or --judge-model, its answered pairs are judged again by that judge (the only calls made:
    no generation call) before curating."""
    from datagen.run import recurate
    from datagen.run.folder import RunFolder, is_run_folder
    from datagen.run.plan import plan_from_folder

    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    started = time.perf_counter()
    curation = load_config(config).curation if config else None
    judge = None
    if judge_base_url is not None or judge_model is not None:
        old = plan_from_folder(RunFolder(run_dir)).config
        data = old.model_dump(mode="json", exclude_unset=True)
        judge_flags(data, judge_base_url, judge_model)
        judge = validated(data, "command line")
    result = asyncio.run(recurate(run_dir, curation, verdicts=verdicts, judge=judge))
    cfg = plan_from_folder(RunFolder(run_dir)).config
    return report_run(result, cfg.model_copy(update={"allow_empty": True, "allow_short": True}),
                      time.perf_counter() - started)


@app.command()
def rejected(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    examples: Annotated[int, typer.Option(min=0, help="Examples shown per reason.")] = 2,
) -> None:
    """Why records were dropped: counts per stage, reason and seed, with examples."""
    from datagen.checks.registry import stage_of
    from datagen.curate.ledger import summary
    from datagen.files import read_parquet
    from datagen.run.folder import RunFolder

    folder = RunFolder(run_dir)
    s = summary(read_parquet(folder.records, fix="pass a run folder written by `datagen run`"),
                examples=examples)
    console.print(f"{s['records']} records: {s['kept']} kept, {s['dropped']} dropped")
    table = Table(title=f"rejected in {esc(run_dir)}")
    for col in ("stage", "reason", "records", "examples"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for reason, n in s["by_reason"].items():
        table.add_row(stage_of(reason), esc(reason), str(n),
                      esc("\n".join(s["examples"][reason])))
    console.print(table)
    for seed_id, counts in s["by_seed"].items():
        console.print(f"  {esc(seed_id)}: " + ", ".join(f"{esc(k)} {v}"
                                                       for k, v in counts.items()))
    if any(s["human"].values()):
        console.print(f"human verdicts: {s['human']['keep']} kept, {s['human']['drop']} "
                      "dropped (they come before every other check)")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    open_: Annotated[bool, typer.Option("--open", help="Open it in the browser.")] = False,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Serve it over HTTP on 127.0.0.1 until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve (0: a free one).")] = 0,
) -> None:
    """Write the run's HTML report (report.html): funnel, plots, split check, cost, and a
    viewer over every record with review marks (`datagen curate --verdicts`)."""
    import webbrowser

    from datagen.report.serve import check_port
    from datagen.run import rewrite_report

    if serve:
        check_port(port)  # before the report is rewritten: a bad --port fails at once
    path = rewrite_report(run_dir)
    console.print(f"report: {esc(path)}")
    if serve:
        from datagen.report.serve import server

        httpd = server(path.parent, port)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{path.name}"
        console.print(f"serving {esc(url)} (Ctrl-C stops)")
        if open_:
            webbrowser.open(url)
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()
    elif open_:
        webbrowser.open(path.resolve().as_uri())
