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
from datagen.errors import BudgetExceeded, DatagenError
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
    batch: Annotated[bool, typer.Option("--batch", help="Use the OpenAI Batch API (half "
                                        "price, answers within 24 h).")] = False,
    max_cost_usd: Annotated[float | None, typer.Option(
        help="Stop cleanly before the run's LLM spend passes this (llm.max_cost_usd).")] = None,
    append_to: Annotated[Path | None, typer.Option(
        "--append-to", help="Append the new pairs to this dataset folder, deduplicated "
        "against everything in it; existing pairs keep their split.")] = None,
) -> None:
    """Generate a dataset: expand, respond, curate, split, export (a Prefect flow)."""
    cfg = build_config(seeds or [], config, out, pairs, model, base_url, seed)
    cfg = _llm_flags(cfg, batch=batch or None, max_cost_usd=max_cost_usd)
    if append_to:
        cfg = cfg.model_copy(update={"append_to": str(append_to)})
    if not cfg.seeds:
        raise DatagenError("no seeds given", hint="datagen run seeds/legal/nda_clauses.yaml")
    preflight(cfg)
    _prefect_env()
    from flows.generate_dataset import generate_dataset

    started = time.perf_counter()
    from datagen.llm.interrupt import cancel_on_sigint

    try:
        with cancel_on_sigint():  # Ctrl-C cancels requests in flight in every task thread
            result = asyncio.run(generate_dataset(cfg, return_state=False))
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: every completed LLM call is saved in "
                      f"{cfg.out}/cache.sqlite; rerun the same command to resume.")
        raise typer.Exit(130) from None
    _print_summary(result, time.perf_counter() - started)
    if result.get("stopped"):
        console.print(f"[yellow]budget reached[/]: {result['stopped']['message']}",
                      highlight=False)
        console.print(f"  [bold]fix:[/] {result['stopped']['hint']}", highlight=False)
        console.print("  what was kept so far is exported above.")
        raise typer.Exit(BudgetExceeded.exit_code)
    if result.get("published"):
        console.print(f"appended to {cfg.append_to}: " + ", ".join(
            f"{k} {v}" for k, v in result["published"].items()))


def _llm_flags(cfg: RunConfig, **values: Any) -> RunConfig:
    """`cfg` with the given `llm` keys set (None leaves a key as configured)."""
    data = cfg.model_dump()
    data["llm"].update({k: v for k, v in values.items() if v is not None})
    return RunConfig.model_validate(data)


@app.command()
def estimate(
    seeds: Annotated[list[Path], typer.Argument(help="Seed YAML files or folders.")] = None,  # type: ignore[assignment]
    pairs: Annotated[int | None, typer.Option(help="Pairs wanted per seed.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Price at Batch API rates.")] = False,
) -> None:
    """Forecast a run's requests, tokens and cost without calling any model."""
    from datagen.llm.estimate import forecast
    from datagen.llm.pricing import price_table

    cfg = _llm_flags(build_config(seeds or [], config, None, pairs, model, base_url, None),
                     batch=batch or None)
    if not cfg.seeds:
        raise DatagenError("no seeds given", hint="datagen estimate seeds/legal/nda_clauses.yaml")
    fc = forecast(cfg)
    table = Table(title=f"datagen estimate: {fc.model} ({fc.kind})")
    for col in ("seed", "stage", "requests", "prompt tok", "completion tok", "completion max"):
        table.add_column(col, justify="left" if col in ("seed", "stage") else "right")
    for line in fc.lines:
        table.add_row(line.seed, line.stage, f"{line.requests:,}", f"{line.prompt_tokens:,}",
                      f"{line.completion_tokens:,}", f"{line.completion_max:,}")
    table.add_row("total", "", *(f"{fc.total(w):,}" for w in (
        "requests", "prompt_tokens", "completion_tokens", "completion_max")), style="bold")
    console.print(table)
    prices = Table(title="price table used (USD per 1M tokens)")
    for col in ("model", "input", "output", "source"):
        prices.add_column(col)
    for row in price_table(fc.model, fc.kind, cfg.llm):
        prices.add_row(*row)
    console.print(prices)
    console.print(f"forecast: ${fc.cost_usd:.4f} (at most ${fc.cost_max_usd:.4f} if every call "
                  f"uses its max_tokens); first round only, curation may add rounds")
    if cfg.llm.max_cost_usd is not None:
        console.print(f"budget cap llm.max_cost_usd: ${cfg.llm.max_cost_usd:.4f}")


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
    if c.get("test"):
        table.add_row("  test", str(c["test"]))
    console.print(table)
    _print_preflight(Path(result["out"]))
    short = {k: v["shortfall"] for k, v in result["per_seed"].items() if v["shortfall"]}
    if short:
        console.print(f"[yellow]short of target[/]: {short} (raise generation.max_rounds or "
                      "use a stronger model)")


def _print_preflight(out: Path) -> None:
    """One line per target model from the pre-flight check the export ran."""
    import json

    try:
        report = json.loads((out / "manifest.json").read_text())["validate"]["train"]
    except (OSError, KeyError, ValueError):
        return
    for model, m in report["models"].items():
        console.print(f"OpenAI pre-flight: {report['valid']} train examples, {m['epochs']} "
                      f"epochs, {m['billed_tokens']:,} billed tokens, ~${m['cost_usd']:.4f} on "
                      f"{model} (details: datagen validate {out / 'openai' / 'train.jsonl'})")


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


@seeds_app.command("import")
def seeds_import(
    file: Annotated[Path, typer.Argument(help="A Self-Instruct / Alpaca seed_tasks.jsonl.")],
    out: Annotated[Path | None, typer.Option("--out", "-o",
                                             help="YAML to write (default: beside FILE).")] = None,
    seed_id: Annotated[str | None, typer.Option("--id", help="Seed id.")] = None,
    domain: Annotated[str, typer.Option(help="Domain of the seed.")] = "general",
    language: Annotated[str, typer.Option(help="ISO 639-1 language code.")] = "en",
    pairs: Annotated[int, typer.Option(help="Pairs wanted.")] = 100,
) -> None:
    """Convert seed_tasks.jsonl into a YAML seed (bootstrap strategy); `run` takes either."""
    from datagen.runfolder import write_text
    from datagen.seedimport import import_tasks, seed_yaml

    seed = import_tasks(file, seed_id=seed_id, domain=domain, language=language, pairs=pairs)
    target = out or file.with_suffix(".yaml")
    write_text(target, seed_yaml(seed))
    tasks = len({ex.task_id for ex in seed.examples})
    console.print(f"[green]ok[/] {target}: seed {seed.id}, {tasks} tasks, "
                  f"{len(seed.examples)} examples, "
                  f"{sum(ex.is_classification for ex in seed.examples)} classification")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="OpenAI chat JSONL files.")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Target model to price (repeatable).")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML (prices).")] = None,
) -> None:
    """Pre-flight check of OpenAI fine-tuning files: format errors, tokens, epochs, cost."""
    from datagen.errors import ExportError
    from datagen.export.validate import tables, validate_file

    export = (load_config(config) if config else RunConfig()).export
    failed = []
    for path in files:
        if not path.is_file():
            raise DatagenError(f"{path}: no such file", hint="check the path")
        report = validate_file(path, model or export.target_models, export.prices)
        for table in tables(report):
            console.print(table)
        if not report["passed"]:
            failed.append(path.name)
    if failed:
        raise ExportError(f"format errors in {', '.join(failed)}",
                          hint="fix the lines listed above; OpenAI would reject the file")


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

    plan = push_run(run_dir, repo_id, private=not public, dry_run=dry_run)
    table = Table(title=f"{'would upload' if dry_run else 'uploaded'} to {plan.repo_id} "
                        f"({'private' if plan.private else 'public'} dataset)")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for name, size in plan.files:
        table.add_row(name, f"{size:,}")
    table.add_row("[bold]total[/]", f"[bold]{plan.total_bytes:,}[/]")
    console.print(table)
    if plan.commit:
        console.print(f"commit {plan.commit}")


@app.command()
def schedule(
    config: Annotated[Path, typer.Argument(help="Run config YAML: the deployment's parameters.")],
    cron: Annotated[str, typer.Option(help="Cron schedule (UTC).")] = "0 2 * * *",
    name: Annotated[str | None, typer.Option(help="Deployment name (default: the seed set).")
                    ] = None,
    append_to: Annotated[Path | None, typer.Option(
        "--append-to", help="Each run appends to this dataset folder.")] = None,
) -> None:
    """Serve the flow on a cron schedule until stopped (Ctrl-C). Runs show in the Prefect UI
    of the server $PREFECT_API_URL points at; trigger one now with `prefect deployment run`."""
    cfg = load_config(config)
    if append_to:
        cfg = cfg.model_copy(update={"append_to": str(append_to)})
    if not cfg.seeds:
        raise DatagenError(f"{config}: no seeds", hint="add `seeds: [seeds/...yaml]`")
    _prefect_env()
    from flows.schedule import serve

    serve(cfg, cron=cron, name=name)


@app.command()
def curate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    config: Annotated[Path | None, typer.Option(
        help="Run config YAML whose `curation` section replaces the run's.")] = None,
) -> None:
    """Re-curate a finished run (new thresholds, filters, eval sets) with no LLM call, then
    rewrite its split and exports."""
    from datagen.recurate import recurate

    started = time.perf_counter()
    manifest = recurate(run_dir, load_config(config).curation if config else None)
    _print_summary({"out": str(run_dir), "counts": manifest["counts"],
                    "per_seed": manifest["per_seed"]}, time.perf_counter() - started)

@app.command()
def rejected(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    examples: Annotated[int, typer.Option(help="Examples shown per reason.")] = 2,
) -> None:
    """Why records were dropped: counts per stage, reason and seed, with examples."""
    from datagen.ledger import load_records, stage_of, summary

    s = summary(load_records(run_dir), examples=examples)
    console.print(f"{s['records']} records: {s['kept']} kept, {s['dropped']} dropped")
    table = Table(title=f"rejected in {run_dir}")
    for col in ("stage", "reason", "records", "examples"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for reason, n in s["by_reason"].items():
        table.add_row(stage_of(reason), reason, str(n), "\n".join(s["examples"][reason]))
    console.print(table)
    for seed_id, counts in s["by_seed"].items():
        console.print(f"  {seed_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

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
