"""`datagen run` (and how a run's outcome is printed), `estimate` and `doctor`."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datagen.cli.app import INTERRUPTED, app, build_config, check_seeds, prefect_env
from datagen.config import ROLES, RunConfig
from datagen.console import (
    console,
    emit_json,
    esc,
    json_error,
    preflight_lines,
    split_warning,
    summary_table,
)
from datagen.errors import ConfigError

JudgeURL = Annotated[str | None, typer.Option(
    help="The judge's OpenAI-compatible endpoint (the judge role: models.judge), apart from "
         "the model that writes the answers.")]
JudgeModel = Annotated[str | None, typer.Option(
    help="The judge's model name (at --judge-base-url, else at the answers' endpoint).")]


@app.command()
def run(
    seeds: Annotated[list[Path] | None, typer.Argument(help="Seed YAML files or folders.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder.")] = None,
    pairs: Annotated[int | None, typer.Option(help="Pairs wanted per seed.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name at the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    judge_base_url: JudgeURL = None,
    judge_model: JudgeModel = None,
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
    preference: Annotated[bool, typer.Option(
        "--preference", help="Preference (DPO) pairs too: several answers per instruction "
        "(config `preference:`, default 2), judged; exported beside the SFT pairs.")] = False,
) -> Any:
    """Generate a dataset: expand, respond, curate, split, export (a Prefect flow)."""
    cfg = build_config(seeds, config, out=out, pairs=pairs, seed=seed, model=model,
                       base_url=base_url, max_cost_usd=max_cost_usd, batch=batch or None,
                       judge_base_url=judge_base_url, judge_model=judge_model,
                       append_to=append_to, allow_empty=allow_empty or None,
                       allow_short=allow_short or None)
    if not cfg.seeds:
        raise ConfigError("no seeds given", hint="datagen run seeds/legal/nda_clauses.yaml")
    if preference and cfg.preference is None:
        from datagen.config import PreferenceConfig

        cfg = cfg.model_copy(update={"preference": PreferenceConfig()})
    cfg = preflight(cfg)
    prefect_env()
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
        saved = (f"every completed LLM call is saved in {cfg.out}/cache.sqlite; rerun the "
                 "same command to resume")
        console.print(f"[yellow]interrupted[/]: {esc(saved)}.")
        if as_json:
            json_error(INTERRUPTED, "interrupted", saved, outcome="interrupted")
        quiet_finalisers()
        return INTERRUPTED
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, RunIncomplete) and "result" in summary.summary:
        summary = summary.summary
    if isinstance(summary, BaseException):
        raise summary
    return report_run(summary["result"], cfg, time.perf_counter() - started, quiet=quiet,
                      as_json=as_json)


def quiet_finalisers(*, restore: bool = True) -> None:
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
    `--json`): its temporary server says goodbye at exit. The flow and task runs' own lines
    still reach Prefect's API (the run's logs in the UI) but not the terminal: an error that
    ends the run is printed once, by `main`."""
    if not on:
        yield
        return
    import logging

    from flows.logs import RUN_LOGGERS

    saved = {k: os.environ.get(k) for k in ("DATAGEN_PROGRESS", "PREFECT_LOGGING_LEVEL")}
    os.environ["DATAGEN_PROGRESS"] = "quiet"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # for processes it starts
    logging.getLogger("prefect").setLevel(logging.WARNING)  # if Prefect is configured already
    runs = {name: logging.getLogger(name) for name in RUN_LOGGERS}
    propagate = {name: logger.propagate for name, logger in runs.items()}
    for logger in runs.values():
        logger.propagate = False
    try:
        yield
    finally:
        for name, logger in runs.items():
            logger.propagate = propagate[name]
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def preflight(cfg: RunConfig) -> RunConfig:
    """Fail fast, before Prefect starts, on bad seeds, a bad or busy run folder or append
    target, or an unusable endpoint. Returns the config with its folders made absolute."""
    from datagen.curate.outside import load_texts
    from datagen.export.append import check_target
    from datagen.export.hub import check_repo_id
    from datagen.llm import embedded
    from datagen.llm.cache import ResponseCache
    from datagen.llm.endpoint import configured_base_url, resolve
    from datagen.run.folder import absolute, check_free, check_out
    from datagen.seeds.roots import source_files

    for s in check_seeds(cfg.seeds):  # where grounded seeds read from, before Prefect starts
        source_files(s, cfg.source_roots)
    refs = cfg.curation.references
    for paths, answers in ((refs.sets, False), (refs.eval_sets, True)):
        if paths:
            load_texts(paths, answers=answers)  # a missing or unreadable file fails here
    check_free(absolute(cfg.out))  # another process's run: exit 9 now, not after Prefect's
    out = check_out(cfg.out)       # start-up (and not "not empty": its lock files are there)
    update: dict[str, Any] = {"out": str(out)}
    if (out / "cache.sqlite").exists():
        ResponseCache(out / "cache.sqlite").close()  # unreadable: say so before any work
    if cfg.append_to:
        check_free(absolute(cfg.append_to))
        update["append_to"] = str(check_target(cfg.append_to, out))
    if cfg.export.push_to:
        check_repo_id(cfg.export.push_to, what="export.push_to")
    checked = set()
    for role in ROLES:  # every model a role calls answers (each once), before any work
        name = cfg.model_name(role)
        if name in checked:
            continue
        checked.add(name)
        llm = cfg.llm_for(role)
        base_url = configured_base_url(llm)
        if base_url:
            resolve(llm, base_url)
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
        emit_json({
            "ok": outcome.ok, "outcome": outcome.name,
            "exit_code": 0 if outcome.ok else outcome.exit_code,
            "message": outcome.message, "hint": outcome.hint, "out": str(out),
            "generation_id": result.generation, "seconds": seconds,
            "counts": result.counts, "per_seed": result.per_seed,
            "files": {"manifest": str(out / "manifest.json"),
                      "report": str(out / "report.html"),
                      "train": str(out / "openai" / "train.jsonl"), "hf": str(out / "hf")},
            "published": result.published["counts"] if result.published else None,
            "hub_url": result.hub_url, "models": result.manifest.get("models"),
            "self_judged": result.manifest.get("self_judged")})
        return 0 if outcome.ok else outcome.exit_code
    console.print(summary_table(result.out, result.counts, seconds))
    if quiet:
        if not outcome.ok:
            console.print(f"[yellow]{esc(outcome.name)}[/]: {esc(outcome.message)}")
        return 0 if outcome.ok else outcome.exit_code
    for line in model_lines(result.manifest):
        console.print(line)
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


def model_lines(manifest: dict[str, Any]) -> list[str]:
    """One line per role (its model, tokens and cost), and the self-judged notice."""
    models = manifest.get("models") or {}
    lines = [f"  {esc(role)}: {esc(m.get('model', '?'))} ({esc(m.get('name', '?'))}), "
             f"{m.get('requests', 0)} calls, "
             f"{m.get('prompt_tokens', 0) + m.get('completion_tokens', 0)} tokens, "
             f"${m.get('cost_usd', 0.0):.4f}" for role, m in models.items()]
    if lines:
        lines.insert(0, "models by role:")
    if manifest.get("self_judged"):
        lines.append("[yellow]self-judged[/]: the judge is the model that wrote the answers, "
                     "and a model favours its own answers; name another judge with "
                     "--judge-base-url/--judge-model (or models: and roles.judge)")
    return lines


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
