"""`datagen judge-check`: how far the run's LLM judge agrees with a reviewer's verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datagen.cli.app import app
from datagen.console import console, esc


def _ci(stat: dict[str, Any], fmt: str) -> str:
    ci = stat.get("ci95")
    return "-" if ci is None else f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _row(table: Table, name: str, stat: dict[str, Any], how: str, extra: str = "") -> None:
    if stat["value"] is None:
        table.add_row(name, "undefined", "-", "", esc(stat.get("undefined", "")))
        return
    of = f"{stat['k']} of {stat['n']}" if stat.get("n") is not None else ""
    note = "; ".join(x for x in (of, extra, stat.get("note")) if x)
    table.add_row(name, f"{stat['value']:.3f}", _ci(stat, ".3f"), how, esc(note))


def _print(run_dir: Path, result: dict[str, Any]) -> None:
    c = result["confusion"]
    console.print(f"judge check of {esc(run_dir)} against {esc(result['verdicts_file'])}")
    without = result["without_score"]
    missing = sum(w["verdicts"] for w in without.values())
    console.print(f"n = {result['n']}: {result['verdicts']} verdicts, {result['n']} on records "
                  f"the judge scored" + (f", {missing} without a score:" if missing else ""))
    for w in without.values():
        console.print(f"  {w['verdicts']} {esc(w['why'])}")
    console.print(f"the judge keeps a record at scores.judge >= {result['threshold']:g} "
                  "(curation.judge.threshold); a drop counts as the positive")
    console.print(f"  both drop {c['both_drop']}, judge drops/reviewer keeps "
                  f"{c['judge_drop_human_keep']}, judge keeps/reviewer drops "
                  f"{c['judge_keep_human_drop']}, both keep {c['both_keep']}")
    table = Table(title="judge vs reviewer")
    for col in ("measure", "value", "95% CI", "interval", "note"):
        table.add_column(col, justify="right" if col in ("value", "95% CI") else "left")
    reading = result.get("kappa_reading")
    _row(table, "agreement", result["agreement"], "Wilson")
    _row(table, "Cohen's kappa", result["kappa"], "bootstrap",
         f"{reading} (Landis-Koch)" if reading else "")
    _row(table, "precision of drops", result["drop_precision"], "Wilson")
    _row(table, "recall of drops", result["drop_recall"], "Wilson")
    best = result["best_threshold"]
    _row(table, f"agreement at threshold {best['threshold']}*", best["agreement"], "Wilson")
    _row(table, f"kappa at threshold {best['threshold']}*", best["kappa"], "bootstrap")
    console.print(table)
    console.print(f"* the best threshold, {best['threshold']}: {esc(best['note'])}")
    console.print("kappa intervals: " + esc(result["kappa"]["method"]))
    scan = "  ".join(
        f"{r['threshold']}: {r['agreement']:.2f}/"
        + ("-" if r["kappa"] is None else f"{r['kappa']:.2f}") for r in result["thresholds"])
    console.print(f"agreement/kappa per threshold: {scan}")
    for line in result["warnings"]:
        console.print(f"[yellow]note:[/] {esc(line)}")
    console.print(f"written: {esc(run_dir / 'judge_check.json')}")


@app.command("judge-check")
def judge_check(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder the judge scored.")],
    verdicts: Annotated[Path | None, typer.Option(
        help="A reviewer's verdicts (JSONL, as the report's viewer downloads them); default: "
             "the run folder's merged verdicts.jsonl.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Compare the run's LLM-judge scores with a reviewer's keep/drop verdicts: agreement,
    Cohen's kappa, precision and recall of the judge's drops and the best threshold, each
    with a 95% interval. Written to RUN_DIR/judge_check.json and the manifest."""
    from datagen.errors import ConfigError
    from datagen.evaluate.judge_check import judge_check as check
    from datagen.files import locked
    from datagen.run.folder import is_run_folder

    if not is_run_folder(run_dir):  # before the lock, which would create the folder
        raise ConfigError(f"{run_dir}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    with locked(run_dir, "judge-check"):
        result = check(run_dir, verdicts)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print(run_dir, result)
