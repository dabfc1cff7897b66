"""The comparison as people read it: a rich table on the terminal, a markdown section in the
run's report.md (between markers, replaced on rerun) and eval/report.md. Candidate and model
names are escaped (`datagen.markup`), so none can add markup or a marker to report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from datagen.console import esc
from datagen.files import write_text
from datagen.markup import md_code, md_table, md_text

BEGIN, END = "<!-- datagen eval -->", "<!-- /datagen eval -->"
COLUMNS = ("candidate", "approach", "model", "data needed", "training", "ROUGE-L [95% CI]",
           "words", "prompt tok", "completion tok", "latency s", "cost $", "win rate [95% CI]")


def _num(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _training(t: dict[str, Any]) -> str:
    if not t:
        return "none"
    parts = []
    if t.get("cost_usd") is not None:
        parts.append(f"${t['cost_usd']:.4f}")
    if t.get("seconds") is not None:
        parts.append(f"{t['seconds']:.0f} s CPU")
    if t.get("trained_tokens"):
        parts.append(f"{t['trained_tokens']:,} tok")
    if t.get("eval_loss") is not None:
        parts.append(f"eval loss {t['eval_loss_base']:.2f}->{t['eval_loss']:.2f}")
    return ", ".join(parts) or "-"


def _wins(summary: dict[str, Any], key: str) -> str:
    judge = summary.get("judge") or {}
    out = []
    for pair, r in (judge.get("pairs") or {}).items():
        x, y = pair.split("_vs_")
        if x == key:
            out.append(f"vs ({y}) {r['win_rate']:.2f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]")
    return "; ".join(out) or ("-" if judge else "no judge")


def cells(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for c in summary["candidates"]:
        low, high = c["rouge_l_ci95"]
        rouge = "-" if c["rouge_l"] is None else \
            f"{c['rouge_l']:.3f} [{low:.3f}, {high:.3f}]"
        rows.append([f"({c['candidate']}) {c['name']}", c["approach"], c["model"],
                     c["examples_needed"], _training(c["training"]), rouge,
                     _num(c["answer_words"], ".0f"), str(c["prompt_tokens"]),
                     str(c["completion_tokens"]), _num(c["latency_s"], ".2f"),
                     f"{c['cost_usd']:.4f}", _wins(summary, c["candidate"])])
    return rows


def _stat(value: dict[str, Any]) -> str:
    if value.get("value") is None:
        return "-"
    low, high = value["ci95"]
    return f"{value['value']:.2f} [{low:.2f}, {high:.2f}]"


BIAS_COLUMNS = ("pair", "asked in both orders", "winner flips [95% CI]",
                "first-position wins [95% CI]")


def bias_cells(summary: dict[str, Any]) -> list[list[str]]:
    """Per judged pair: the comparisons answered in both orders, the share whose winner flips
    with the order, and the share of verdicts that went to the answer shown first."""
    rows = []
    for pair, r in ((summary.get("judge") or {}).get("pairs") or {}).items():
        bias = r.get("position_bias")
        if bias:
            x, y = pair.split("_vs_")
            rows.append([f"({x}) vs ({y})",
                         f"{bias['answered_both_orders']} of {bias['comparisons']}",
                         _stat(bias["winner_flips"]), _stat(bias["first_position_wins"])])
    return rows


def markdown(summary: dict[str, Any]) -> str:
    judge = summary.get("judge")
    how = (f"pairwise preference by {md_code(judge['model'])}, each pair asked in both orders"
           if judge else "no judge endpoint configured (`--judge-base-url`)")
    return "\n".join([
        "## Prompting vs fine-tuning vs adapter",
        "",
        f"{summary['instructions']} validation instructions (generation "
        f"{md_text(summary['generation_id'])}), temperature 0, at most "
        f"{summary['params']['max_tokens']} tokens. Similarity: {md_text(summary['metric'])}. "
        f"Judge: {how}.",
        "",
        md_table(list(COLUMNS), cells(summary)),
        *(["", "Judge position bias (an unbiased judge: no flips, half the wins first):", "",
           md_table(list(BIAS_COLUMNS), bias)] if (bias := bias_cells(summary)) else []),
    ])


TERMINAL = ("candidate", "data needed", "training", "ROUGE-L [95% CI]", "words", "latency s",
            "cost $", "win rate [95% CI]")  # the rest is in eval/report.md


def rows_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"eval on {summary['instructions']} validation instructions")
    shown = [COLUMNS.index(c) for c in TERMINAL]
    for i in shown:
        table.add_column(COLUMNS[i])
    for row in cells(summary):
        table.add_row(*(esc(row[i]) for i in shown))
    return table


def write_report_section(report: Path, text: str) -> None:
    """Put the section into report.md, replacing the one a previous eval wrote."""
    if not report.is_file():
        return
    body = report.read_text(encoding="utf-8")
    if BEGIN in body and END in body:
        head, rest = body.split(BEGIN, 1)
        body = head.rstrip() + "\n\n" + rest.split(END, 1)[1].lstrip()
    write_text(report, body.rstrip() + f"\n\n{BEGIN}\n{text}\n{END}\n")
