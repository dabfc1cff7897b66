"""Chat examples of kept records, and the files trainers read: OpenAI chat JSONL (one
`{"messages": [...]}` per line, UTF-8, no null keys), Alpaca and ShareGPT JSONL.

Multi-turn: a record whose `metadata` JSON holds `turns`, a list of `{"role": "user" |
"assistant", "content": str, "weight"?: 0 | 1}` messages, becomes that conversation (after the
optional system message) instead of its single instruction/response pair. The record's
`instruction` and `response` stay its opening exchange, so filters and dedup judge that (a
follow-up such as "Could you shorten it?" would otherwise collide across records).

Tool calls: a record of a seed with `tools` carries them in `metadata.tools` (OpenAI's
function form), and its `turns` hold assistant messages with `tool_calls` and the `tool`
messages answering them (`tool_call_id`); its line is `{"messages": [...], "tools": [...]}`,
as OpenAI's function-calling fine-tuning takes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from datagen.files import write_jsonl
from datagen.records import row_dicts

Weighting = Literal["none", "all", "last"]
ROW_COLUMNS = ["system", "instruction", "response", "metadata"]  # what `messages` reads
_SHAREGPT_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}


MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "weight")


def _meta(row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    meta = row.get("metadata") if hasattr(row, "get") else None
    try:
        data = json.loads(meta) if isinstance(meta, str) and meta else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def tools(row: pd.Series | dict[str, Any]) -> list[dict[str, Any]] | None:
    """The tool definitions a record was answered with (None for a seed without tools)."""
    found = _meta(row).get("tools")
    return found if isinstance(found, list) and found else None


def turns(row: pd.Series | dict[str, Any]) -> list[dict[str, Any]]:
    """The record's user/assistant (and tool) messages: its `turns` when it carries them, else
    one pair."""
    carried = _meta(row).get("turns")
    if isinstance(carried, list) and carried:
        return [{k: m[k] for k in MESSAGE_KEYS if k in m} for m in carried]
    return [{"role": "user", "content": row["instruction"]},
            {"role": "assistant", "content": row["response"]}]


def messages(row: pd.Series | dict[str, Any], *, system_message: bool = True,
             weight: Weighting = "none") -> list[dict[str, Any]]:
    """The chat messages of one record. `weight`: none (no key, unless turns carry one), all
    (1 on every assistant message) or last (1 on the last, 0 on earlier ones)."""
    out: list[dict[str, Any]] = []
    system = row["system"]
    if system_message and isinstance(system, str) and system.strip():
        out.append({"role": "system", "content": system})
    convo = turns(row)
    last = max((i for i, m in enumerate(convo) if m["role"] == "assistant"), default=-1)
    for i, m in enumerate(convo):
        m = dict(m)
        if m["role"] == "assistant" and weight != "none" and "weight" not in m:
            m["weight"] = 1 if weight == "all" or i == last else 0
        out.append(m)
    return out


def strip_nulls(value: Any) -> Any:
    """Drop keys whose value is None (Arrow's schema merging adds `"weight": null`)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def chat_rows(records: pd.DataFrame, *, system_message: bool = True,
              weight: Weighting = "none") -> Iterator[dict[str, Any]]:
    """The chat example (`{"messages", "tools"?}`) of each record, made as they are read."""
    for r in row_dicts(records, ROW_COLUMNS):
        row: dict[str, Any] = {"messages": strip_nulls(messages(
            r, system_message=system_message, weight=weight))}
        if (defs := tools(r)) is not None:
            row["tools"] = defs
        yield row


def write_chat_jsonl(records: pd.DataFrame, path: str | Path, *, system_message: bool = True,
                     weight: Weighting = "none") -> int:
    return write_jsonl(path, chat_rows(records, system_message=system_message, weight=weight))


def alpaca(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    """Alpaca: the last exchange as instruction/input/output; earlier exchanges as `history`
    ([user, assistant] pairs) and the system message as `system`, as common trainers read."""
    system = [m["content"] for m in msgs if m["role"] == "system"]
    convo = [m for m in msgs if m["role"] in ("user", "assistant")]
    pairs = [[convo[i]["content"], convo[i + 1]["content"]] for i in range(0, len(convo) - 1, 2)]
    row: dict[str, Any] = {"instruction": pairs[-1][0] if pairs else "", "input": "",
                           "output": pairs[-1][1] if pairs else ""}
    if system:
        row["system"] = system[0]
    if len(pairs) > 1:
        row["history"] = pairs[:-1]
    return row


def sharegpt(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    """ShareGPT: `conversations` of `{"from": system|human|gpt, "value": ...}`."""
    return {"conversations": [{"from": _SHAREGPT_ROLE[m["role"]], "value": m["content"]}
                              for m in msgs if m["role"] in _SHAREGPT_ROLE]}


def write_format(records: pd.DataFrame, path: str | Path, fmt: Literal["alpaca", "sharegpt"],
                 *, system_message: bool = True) -> int:
    convert = alpaca if fmt == "alpaca" else sharegpt
    return write_jsonl(path, (convert(r["messages"])
                              for r in chat_rows(records, system_message=system_message)))
