"""The `validate` report (`datagen.export.validate.check_examples`) for people: rich tables
for the terminal, and a short Markdown summary for the run report and the dataset card."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from datagen.export.validate import ERROR_CLASSES, PREFERENCE_ERROR_CLASSES


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as rich tables: format errors and warnings, tokens, and per target model."""
    title = f"{escape(report['file'])}: {report['valid']} of {report['examples']} examples valid"
    checks = Table(title=title, title_justify="left")
    checks.add_column("check")
    checks.add_column("examples", justify="right")
    checks.add_column("first lines")
    for cls, hit in report["format_errors"].items():
        checks.add_row(f"[red]{cls}[/]", str(hit["count"]), ", ".join(map(str, hit["lines"])))
    if not report["format_errors"]:
        n = len(PREFERENCE_ERROR_CLASSES if report.get("format") == "preference"
                else ERROR_CLASSES)
        checks.add_row(f"[green]format: all {n} error classes clear[/]", "0", "")
    for name, detail in report.get("file_errors", {}).items():
        checks.add_row(f"[red]{name}[/]: {detail}", str(report["valid"]), "")
    for warning, n in report["warnings"].items():
        checks.add_row(f"[yellow]warn[/] {warning}" if n else f"warn {warning}", str(n), "")
    out = [checks]
    tok = report.get("tokens")
    if tok and report["valid"]:
        dist = Table(title=f"tokens per example ({tok['encoding']}"
                           f"{'' if tok['exact'] else ', approximate'})", title_justify="left")
        dist.add_column("")
        for col in ("min", "mean", "p50", "p95", "max"):
            dist.add_column(col, justify="right")
        for label, key in (("whole example", "per_example"),
                           ("assistant", "assistant_per_example"),
                           ("messages", "messages_per_example")):
            dist.add_row(label, *(str(tok[key][c]) for c in ("min", "mean", "p50", "p95", "max")))
        if tok.get("tool_definitions"):
            share = tok["tool_definitions"] / max(1, tok["total"])
            dist.caption = (f"tool definitions: {tok['tool_definitions']:,} of "
                            f"{tok['total']:,} tokens ({share:.0%})")
        out.append(dist)
    if report["models"] and report["valid"]:
        cost = Table(title="fine-tuning estimate (default epochs)", title_justify="left")
        for col in ("target model", "limit", "over limit", "epochs", "billed tokens",
                    "$ / 1M", "cost $"):
            cost.add_column(col, justify="left" if col == "target model" else "right")
        for model, m in report["models"].items():
            over = f"[red]{m['over_limit']}[/]" if m["over_limit"] else "0"
            cost.add_row(escape(model), f"{m['context_limit']:,}", over, str(m["epochs"]),
                         f"{m['billed_tokens']:,}", f"{m['usd_per_1m_tokens']:.2f}",
                         f"{m['cost_usd']:.4f}")
        out.append(cost)
    return out


def markdown(report: dict[str, Any]) -> str:
    """A short markdown summary for the run report and the dataset card."""
    from datagen.export.card import markdown_table

    tok = report.get("tokens", {})
    rows = [[model, m["epochs"], f"{m['billed_tokens']:,}", m["over_limit"],
             f"${m['cost_usd']:.4f}"] for model, m in report["models"].items()]
    dist = tok.get("per_example", {})
    errors = ", ".join(f"{k} {v['count']}" for k, v in report["format_errors"].items()) or "none"
    return "\n".join([
        f"`{report['file']}`: {report['valid']} valid examples; format errors: {errors}; "
        f"tokens per example min {dist.get('min')}, mean {dist.get('mean')}, "
        f"p95 {dist.get('p95')}, max {dist.get('max')}.",
        "",
        markdown_table(["target model", "epochs", "billed tokens", "over limit", "cost"], rows),
    ])
