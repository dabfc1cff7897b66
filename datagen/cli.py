"""The `datagen` command. Every outcome and every error becomes an exit code here, once
(`main`), as listed in the README:

    0 done    1 error    2 bad input    3 endpoint unusable    4 budget reached
    5 export invalid    6 LLM calls failed    7 nothing kept    8 short of target
    9 run folder busy    130 interrupted (Ctrl-C or SIGTERM; completed calls are saved)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datagen.config import RunConfig, load_config, read_config_file, resolve_paths, validated
from datagen.console import console, error, esc, preflight_lines, split_warning, summary_table
from datagen.errors import ConfigError, DatagenError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Seed tasks in, a clean fine-tuning corpus out.")
seeds_app = typer.Typer(no_args_is_help=True, help="Work with seed files.")
app.add_typer(seeds_app, name="seeds")
INTERRUPTED = 130


def _prefect_env() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if os.environ.get("PREFECT_API_URL") == "":
        del os.environ["PREFECT_API_URL"]  # empty breaks the ephemeral server


def build_config(seeds: list[Path] | None = None, config: Path | None = None,
                 **flags: Any) -> RunConfig:
    """The run config: the file's keys, then the flags given. A base URL with a password or
    a key in it is kept in this process's environment; the config gets the redacted URL."""
    from datagen.secrets import stash

    data = resolve_paths(read_config_file(config), config.resolve().parent) if config else {}
    if seeds:
        data["seeds"] = [str(s) for s in seeds]
    llm = dict(data.get("llm") or {})
    for key in ("model", "base_url", "max_cost_usd", "batch"):
        value = flags.pop(key, None)
        if value is not None:
            llm[key] = stash(value) if key == "base_url" else value
    if llm:
        data["llm"] = llm
    for key, value in flags.items():
        if value is not None:
            data[key] = str(value) if isinstance(value, Path) else value
    return validated(data, str(config) if config else "command line")


# ---- run -------------------------------------------------------------------------------------

@app.command()
def run(
    seeds: Annotated[list[Path] | None, typer.Argument(help="Seed YAML files or folders.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder.")] = None,
    pairs: Annotated[int | None, typer.Option(help="Pairs wanted per seed.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Use the OpenAI Batch API (half "
                                        "price, answers within 24 h).")] = False,
    max_cost_usd: Annotated[float | None, typer.Option(
        help="Stop cleanly before the run's LLM spend passes this (llm.max_cost_usd).")] = None,
    append_to: Annotated[Path | None, typer.Option(
        "--append-to", help="Append the new pairs to this dataset folder, deduplicated "
        "against everything in it; existing pairs keep their split.")] = None,
    allow_empty: Annotated[bool, typer.Option(
        "--allow-empty", help="A run that keeps no pair exits 0 (else 7).")] = False,
    allow_short: Annotated[bool, typer.Option(
        "--allow-short", help="A run short of its target exits 0 (else 8).")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing but errors and the final table.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print a machine-readable summary on stdout (and no progress).")] = False,
) -> Any:
    """Generate a dataset: expand, respond, curate, split, export (a Prefect flow)."""
    cfg = build_config(seeds, config, out=out, pairs=pairs, seed=seed, model=model,
                       base_url=base_url, max_cost_usd=max_cost_usd, batch=batch or None,
                       append_to=append_to, allow_empty=allow_empty or None,
                       allow_short=allow_short or None)
    if not cfg.seeds:
        raise ConfigError("no seeds given", hint="datagen run seeds/legal/nda_clauses.yaml")
    cfg = preflight(cfg)
    _prefect_env()
    from datagen.llm.interrupt import cancel_on_signals
    from datagen.run.reaper import reaper
    from datagen.run.result import RunIncomplete
    from datagen.secrets import redact_logs
    from flows.generate_dataset import run_here

    redact_logs()
    started = time.perf_counter()
    try:
        with reaper(), cancel_on_signals(), _quiet(quiet or as_json):
            state = run_here(cfg)  # Ctrl-C/SIGTERM cancel requests in every thread
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: every completed LLM call is saved in "
                      f"{esc(cfg.out)}/cache.sqlite; rerun the same command to resume.")
        _quiet_finalisers()
        return INTERRUPTED
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, RunIncomplete) and "result" in summary.summary:
        summary = summary.summary
    if isinstance(summary, BaseException):
        raise summary
    return report_run(summary["result"], cfg, time.perf_counter() - started, quiet=quiet,
                      as_json=as_json)


def _quiet_finalisers(*, restore: bool = True) -> None:
    """Finalise an interrupted flow engine's coroutines with logging off. Their clean-up
    logs through Prefect's API handler, which starts a thread from inside the garbage
    collector, and that deadlocks (seen as a hang after "interrupted"); what they raise
    while closing is noise after an interruption, not news."""
    import logging

    hook = sys.unraisablehook
    logging.disable(logging.CRITICAL)
    sys.unraisablehook = lambda unraisable: None  # "Exception ignored in <coroutine ...>"
    gc.collect()
    if restore:
        logging.disable(logging.NOTSET)
        sys.unraisablehook = hook


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    """No progress for the block, and Prefect's warnings only from here on (`--quiet`,
    `--json`): its temporary server says goodbye at exit."""
    if not on:
        yield
        return
    import logging

    saved = {k: os.environ.get(k) for k in ("DATAGEN_PROGRESS", "PREFECT_LOGGING_LEVEL")}
    os.environ["DATAGEN_PROGRESS"] = "quiet"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # for processes it starts
    logging.getLogger("prefect").setLevel(logging.WARNING)  # if Prefect is configured already
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def preflight(cfg: RunConfig) -> RunConfig:
    """Fail fast, before Prefect starts, on bad seeds, a bad run folder or an unusable
    endpoint. Returns the config with its folders made absolute."""
    from datagen.curate import CHECK_NAMES
    from datagen.curate.outside import load_texts
    from datagen.export.append import check_target
    from datagen.llm import embedded
    from datagen.llm.cache import ResponseCache
    from datagen.llm.endpoint import configured_base_url, resolve
    from datagen.run.folder import check_out
    from datagen.seeds import load_seeds

    load_seeds(cfg.seeds)
    refs = cfg.curation.references
    for paths, answers in ((refs.sets, False), (refs.eval_sets, True)):
        if paths:
            load_texts(paths, answers=answers)  # a missing or unreadable file fails here
    unknown = [c for c in cfg.curation.skip if c not in CHECK_NAMES]
    if unknown:
        raise ConfigError(f"curation.skip: unknown checks {unknown}",
                          hint=f"use some of {', '.join(CHECK_NAMES)}")
    out = check_out(cfg.out)
    update: dict[str, Any] = {"out": str(out)}
    if (out / "cache.sqlite").exists():
        ResponseCache(out / "cache.sqlite").close()  # unreadable: say so before any work
    if cfg.append_to:
        update["append_to"] = str(check_target(cfg.append_to))
    base_url = configured_base_url(cfg.llm)
    if base_url:
        resolve(cfg.llm, base_url)
    else:
        embedded.check_installed()
    return cfg.model_copy(update=update)


def report_run(result: Any, cfg: RunConfig, seconds: float | None = None, *,
               quiet: bool = False, as_json: bool = False) -> int:
    """Print what a run made and how it ended; its exit code."""
    outcome = result.outcome(max_failed_share=cfg.llm.max_failed_share,
                             allow_empty=cfg.allow_empty, allow_short=cfg.allow_short)
    if as_json:
        out = Path(result.out)
        print(json.dumps({
            "outcome": outcome.name, "exit_code": 0 if outcome.ok else outcome.exit_code,
            "message": outcome.message, "hint": outcome.hint, "out": str(out),
            "generation_id": result.generation, "seconds": seconds,
            "counts": result.counts, "per_seed": result.per_seed,
            "files": {"manifest": str(out / "manifest.json"),
                      "report": str(out / "report.html"),
                      "train": str(out / "openai" / "train.jsonl"), "hf": str(out / "hf")},
            "published": result.published["counts"] if result.published else None,
            "hub_url": result.hub_url}, default=str))
        return 0 if outcome.ok else outcome.exit_code
    console.print(summary_table(result.out, result.counts, seconds))
    if quiet:
        if not outcome.ok:
            console.print(f"[yellow]{esc(outcome.name)}[/]: {esc(outcome.message)}")
        return 0 if outcome.ok else outcome.exit_code
    for line in preflight_lines(Path(result.out)):
        console.print(line)
    for part in split_warning(result.manifest.get("split", {})):
        console.print(part)
    if result.published:
        console.print(f"appended to {esc(cfg.append_to)}: " + ", ".join(
            f"{k} {v}" for k, v in result.published["counts"].items()))
    if result.hub_url:
        console.print(f"pushed: {esc(result.hub_url)}")
    if outcome.ok:
        return 0
    console.print(f"[yellow]{esc(outcome.name)}[/]: {esc(outcome.message)}")
    if outcome.hint:
        console.print(f"  [bold]fix:[/] {esc(outcome.hint)}")
    return outcome.exit_code


@app.command()
def estimate(
    seeds: Annotated[list[Path] | None, typer.Argument(help="Seed YAML files or folders.")] = None,
    pairs: Annotated[int | None, typer.Option(help="Pairs wanted per seed.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Price at Batch API rates.")] = False,
) -> None:
    """Forecast a run's requests, tokens and cost without calling any model."""
    from datagen.llm.estimate import forecast
    from datagen.llm.pricing import price_table

    cfg = build_config(seeds, config, pairs=pairs, model=model, base_url=base_url,
                       batch=batch or None)
    if not cfg.seeds:
        raise ConfigError("no seeds given", hint="datagen estimate seeds/legal/nda_clauses.yaml")
    fc = forecast(cfg)
    table = Table(title=f"datagen estimate: {esc(fc.model)} ({fc.kind})")
    for col in ("seed", "stage", "requests", "prompt tok", "completion tok", "completion max"):
        table.add_column(col, justify="left" if col in ("seed", "stage") else "right")
    for line in fc.lines:
        table.add_row(esc(line.seed), line.stage, f"{line.requests:,}", f"{line.prompt_tokens:,}",
                      f"{line.completion_tokens:,}", f"{line.completion_max:,}")
    table.add_row("total", "", *(f"{fc.total(w):,}" for w in (
        "requests", "prompt_tokens", "completion_tokens", "completion_max")), style="bold")
    console.print(table)
    prices = Table(title="price table used (USD per 1M tokens)")
    for col in ("model", "input", "output", "source"):
        prices.add_column(col)
    for row in price_table(fc.model, fc.kind, cfg.llm):
        prices.add_row(*(esc(c) for c in row))
    console.print(prices)
    console.print(f"forecast: ${fc.cost_usd:.4f} (at most ${fc.cost_max_usd:.4f} if every call "
                  f"uses its max_tokens); first round only, curation may add rounds")
    if cfg.llm.max_cost_usd is not None:
        console.print(f"budget cap llm.max_cost_usd: ${cfg.llm.max_cost_usd:.4f}")
    auto = cfg.generation.max_calls_per_seed == "auto"
    for sid, (planned, most) in fc.call_limits.items():
        grows = (f"; it follows the measured yield, up to {most:,} at a 5% yield"
                 if auto and most > planned else "")
        console.print(f"attempt limit for {esc(sid)} (generation.max_calls_per_seed: "
                      f"{cfg.generation.max_calls_per_seed}): {planned:,} calls per seed at the "
                      f"planned yield{grows}")


@app.command()
def doctor(
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
) -> None:
    """Show which endpoint and model a run would use, whether a key is set, and try one call."""
    from datagen.llm.doctor import check

    cfg = build_config(None, config, model=model, base_url=base_url)
    report = check(cfg.llm)
    table = Table(title="datagen doctor", show_header=False)
    for key, value in report.items():
        table.add_row(esc(key), esc(value))
    console.print(table)


# ---- seeds -----------------------------------------------------------------------------------

@seeds_app.command("validate")
def seeds_validate(
    paths: Annotated[list[Path], typer.Argument(help="Seed files or folders.")],
) -> None:
    """Check seed files; errors name the file, the field and the fix."""
    from datagen.seeds import load_seeds

    for s in load_seeds(paths):
        console.print(f"[green]ok[/] {esc(s.id)}: {esc(s.domain)}, {s.language}, {s.pairs} "
                      f"pairs, {len(s.examples)} examples")


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
    if target.exists() and not force:
        raise ConfigError(f"{target}: exists already", hint="pass --force to replace it, or "
                          "--out to write elsewhere")
    seed = import_tasks(file, seed_id=seed_id, domain=domain, language=language, pairs=pairs)
    write_text(target, seed_yaml(seed))
    tasks = len({ex.task_id for ex in seed.examples})
    console.print(f"[green]ok[/] {esc(target)}: seed {esc(seed.id)}, {tasks} tasks, "
                  f"{len(seed.examples)} examples, "
                  f"{sum(ex.is_classification for ex in seed.examples)} classification")


# ---- exports ---------------------------------------------------------------------------------

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


# ---- scheduling ------------------------------------------------------------------------------

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
    _prefect_env()
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
    from flows.prefect_bits import check_cron

    cfg = build_config(None, config, append_to=append_to.absolute() if append_to else None)
    if not cfg.seeds:
        raise ConfigError(f"{config}: no seeds", hint="add `seeds: [seeds/...yaml]`")
    check_cron(cron)
    from flows.schedule import check_identity, deployment_name, serve

    name = name or deployment_name(config, cfg)
    check_identity(name, cfg, cron, replace=replace)
    console.print(f"serving deployment generate_dataset/{esc(name)} on {esc(cron)} (Ctrl-C "
                  "stops and pauses it)")
    serve(cfg, cron=cron, name=name)


# ---- curation --------------------------------------------------------------------------------

@app.command()
def curate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    config: Annotated[Path | None, typer.Option(
        help="Run config YAML whose `curation` section replaces the run's.")] = None,
    verdicts: Annotated[Path | None, typer.Option(
        help="A reviewer's verdicts (JSONL from the report's viewer): keep or drop per id, "
             "before every other check.")] = None,
) -> Any:
    """Re-curate a finished run (new thresholds, checks, eval sets, human verdicts) with no
    LLM call, then rewrite its split and exports as a new generation."""
    from datagen.run import recurate
    from datagen.run.folder import RunFolder, is_run_folder
    from datagen.run.plan import plan_from_folder

    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    started = time.perf_counter()
    curation = load_config(config).curation if config else None
    result = asyncio.run(recurate(run_dir, curation, verdicts=verdicts))
    cfg = plan_from_folder(RunFolder(run_dir)).config
    return report_run(result, cfg.model_copy(update={"allow_empty": True, "allow_short": True}),
                      time.perf_counter() - started)


@app.command()
def rejected(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    examples: Annotated[int, typer.Option(min=0, help="Examples shown per reason.")] = 2,
) -> None:
    """Why records were dropped: counts per stage, reason and seed, with examples."""
    from datagen.curate.ledger import summary
    from datagen.curate.reasons import stage_of
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

    from datagen.run import rewrite_report

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


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, then exit with the code its outcome means."""
    try:
        code = app(args=argv, prog_name="datagen", standalone_mode=False)
    except DatagenError as exc:
        error(exc.message, exc.hint)
        code = exc.exit_code
    except typer.Abort:
        console.print("[yellow]interrupted[/]")
        code = INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # a usage error: bad flag, missing argument
        exc.show()  # type: ignore[attr-defined]
        code = getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: rerun the same command to resume")
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:  # the process ends: no log from its finalisers
        _quiet_finalisers(restore=False)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
