"""OpenAI fine-tuning chat JSONL: one `{"messages": [...]}` per line, UTF-8, no null keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.runfolder import write_jsonl

ALLOWED_ROLES = ("system", "user", "assistant", "tool", "function")


def messages(row: pd.Series | dict[str, Any], *, system_message: bool = True) -> list[dict]:
    """The chat messages of one record."""
    out = []
    if system_message and isinstance(row["system"], str) and row["system"].strip():
        out.append({"role": "system", "content": row["system"]})
    out.append({"role": "user", "content": row["instruction"]})
    out.append({"role": "assistant", "content": row["response"]})
    return out


def strip_nulls(value: Any) -> Any:
    """Drop keys whose value is None (Arrow's schema merging adds `"weight": null`)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def write_chat_jsonl(records: pd.DataFrame, path: str | Path, *,
                     system_message: bool = True) -> int:
    rows = [{"messages": strip_nulls(messages(r, system_message=system_message))}
            for _, r in records.iterrows()]
    write_jsonl(path, rows)
    return len(rows)


def format_errors(path: str | Path) -> list[str]:
    """Lines that are not valid chat examples (the full pre-flight check is `validate`)."""
    errors = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                ex = json.loads(line)
            except json.JSONDecodeError:
                errors.append(f"line {n}: not JSON")
                continue
            msgs = ex.get("messages") if isinstance(ex, dict) else None
            if not isinstance(msgs, list) or not msgs:
                errors.append(f"line {n}: no messages list")
                continue
            for m in msgs:
                if not isinstance(m, dict) or m.get("role") not in ALLOWED_ROLES or not isinstance(
                    m.get("content"), str
                ):
                    errors.append(f"line {n}: bad message {m!r:.80}")
            if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in msgs):
                errors.append(f"line {n}: no assistant message")
    return errors
