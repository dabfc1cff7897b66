"""What datagen prints: one rich console on stderr, and the tables people read after a run.

Everything a user or a model wrote (instructions, seed ids, paths, error messages) goes
through `esc` or a `Text`: rich reads `[...]` as markup, and an instruction holding
`[/insert date]` must print as written, not crash or vanish.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(stderr=True, highlight=False)


def esc(value: Any) -> str:
    return escape(str(value))


def error(message: str, hint: str | None = None) -> None:
    console.print(f"[red]error:[/] {esc(message)}")
    if hint:
        console.print(f"  [bold]fix:[/] {esc(hint)}")


def emit_json(data: dict[str, Any]) -> None:
    """The one JSON object `--json` prints on stdout (all else goes to stderr). ASCII only:
    a path with bytes that are not UTF-8 still prints."""
    print(json.dumps(data, default=str), flush=True)


def json_error(exit_code: int, message: str, hint: str | None = None, *,
               outcome: str = "error") -> None:
    """`--json`'s object for an outcome that is an error (bad input, endpoint, busy folder,
    interruption, ...): the same keys whatever the command."""
    emit_json({"ok": False, "outcome": outcome, "exit_code": exit_code, "error": message,
               "hint": hint})


def summary_table(out: str, counts: dict[str, Any], seconds: float | None = None) -> Table:
    took = f"  ({seconds:.1f} s)" if seconds is not None else ""
    table = Table(title=f"datagen -> {esc(out)}{took}")
    table.add_column("stage")
    table.add_column("records", justify="right")
    table.add_row("generated", str(counts["generated"]))
    for reason, n in counts["by_reason"].items():
        table.add_row(f"  dropped: {esc(reason)}", str(n))
    table.add_row("kept", str(counts["kept"]))
    for name in ("train", "validation", "test"):
        if name in counts and (name != "test" or counts[name]):
            table.add_row(f"  {name}", str(counts[name]))
    return table


def preflight_lines(out: Path) -> list[str]:
    """One line per target model from the pre-flight check the export ran."""
    try:
        report = json.loads((out / "manifest.json").read_text())["validate"]["train"]
    except (OSError, KeyError, ValueError):
        return []
    lines = []
    for model, m in report["models"].items():
        lines.append(f"OpenAI pre-flight: {report['valid']} train examples, {m['epochs']} "
                     f"epochs, {m['billed_tokens']:,} billed tokens, ~${m['cost_usd']:.4f} on "
                     f"{esc(model)} (details: datagen validate "
                     f"{esc(out / 'openai' / 'train.jsonl')})")
    if report.get("valid", 0) < report.get("min_examples", 10):
        lines.append(f"[yellow]note:[/] OpenAI needs at least {report.get('min_examples', 10)} "
                     f"training examples; train.jsonl has {report.get('valid', 0)}")
    return lines


def split_warning(split_info: dict[str, Any]) -> list[Any]:
    """The split's warning, and the largest groups of each share it could not meet."""
    warn = split_info.get("warning")
    if not warn:
        return []
    out: list[Any] = [f"[yellow]split:[/] {esc(warn)}"]
    misses = (split_info.get("shares") or {}).get("misses") or []
    if misses:
        table = Table(title="split shares not met: the largest groups (never split)")
        for col in ("seed", "split", "asked", "realised", "group", "of seed", "in", "example"):
            table.add_column(col, justify="right" if col in (
                "asked", "realised", "group", "of seed") else "left")
        for m in misses:
            for g in m["largest_groups"]:
                table.add_row(esc(m["seed"]), m["split"], f"{m['asked_share']:.3f}",
                              f"{m['realised_share']:.3f}", f"{g['size']:,}",
                              f"{g['share']:.0%}", g["split"], esc(g["example"][:60]))
        out.append(table)
    return out
