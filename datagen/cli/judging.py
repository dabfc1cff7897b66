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


def _row(table: Table, name: str, stat: dict[str, Any], fmt: str = ".3f") -> None:
    if stat["value"] is None:
        table.add_row(name, "undefined", "-", esc(stat.get("undefined", "")))
        return
    of = f"{stat['k']} of {stat['n']}" if stat.get("n") is not None else ""
    note = "; ".join(x for x in (of, stat.get("note")) if x)
    table.add_row(name, f"{stat['value']:{fmt}}", _ci(stat, fmt), esc(note))


def _print(result: dict[str, Any]) -> None:
    c = result["confusion"]
    console.print(f"judge check of {esc(result['run'])} against {esc(result['verdicts_file'])}")
    without = result["without_score"]
    missing = sum(w["verdicts"] for w in without.values())
    console.print(f"n = {result['n']}: {result['verdicts']} verdicts, {result['n']} on records "
                  f"the judge scored" + (f", {missing} without a score:" if missing else ""))
    for w in without.values():
        console.print(f"  {w['verdicts']} {esc(w['why'])}")
    console.print(f"the judge keeps a record at score >= {result['threshold']:g} "
                  f"(curation.judge.threshold; {esc(result['score'])}); a drop is the positive")
    console.print(f"  both drop {c['both_drop']}, judge drops/reviewer keeps "
                  f"{c['judge_drop_human_keep']}, judge keeps/reviewer drops "
                  f"{c['judge_keep_human_drop']}, both keep {c['both_keep']}")
    table = Table(title="judge vs reviewer (95% intervals: Wilson for shares, bootstrap "
                        "for kappa)")
    for col in ("measure", "value", "95% CI", "from"):
        table.add_column(col, justify="right" if col in ("value", "95% CI") else "left")
    _row(table, "agreement", result["agreement"])
    _row(table, "Cohen's kappa", result["kappa"])
    _row(table, "precision of drops", result["drop_precision"])
    _row(table, "recall of drops", result["drop_recall"])
    best = result["best_threshold"]
    _row(table, f"agreement at best threshold {best['threshold']}", best["agreement"])
    _row(table, f"kappa at best threshold {best['threshold']}", best["kappa"])
    console.print(table)
    console.print(f"best threshold {best['threshold']}: {esc(best['note'])}")
    scan = "  ".join(
        f"{r['threshold']}: {r['agreement']:.2f}/"
        + ("-" if r["kappa"] is None else f"{r['kappa']:.2f}") for r in result["thresholds"])
    console.print(f"agreement/kappa per threshold: {scan}")
    console.print(f"written: {esc(Path(result['run']) / 'judge_check.json')}")


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
    from datagen.evaluate.judge_check import judge_check as check
    from datagen.files import locked

    with locked(run_dir, "judge-check"):
        result = check(run_dir, verdicts)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
