"""The record: one instruction/response pair, one row of a pandas DataFrame.

Column names are the contract between stages. Stages add verdicts (`keep`, `drop_reason`,
`lost_to`, scores); nothing is deleted, so every paid-for record stays in the run folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pandas as pd
import xxhash

COLUMNS: dict[str, str] = {
    "id": "string",
    "run_id": "string",
    "seed_id": "string",
    "domain": "string",
    "language": "string",
    "system": "string",
    "instruction": "string",
    "response": "string",
    "model": "string",
    "params": "string",  # JSON: sampling parameters of the response call
    "finish_reason": "string",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "detected_language": "string",
    "language_score": "Float64",
    "dup_cluster": "string",
    "keep": "boolean",
    "drop_reason": "string",  # one of datagen.reasons.DropReason
    "lost_to": "string",  # a dropped copy: the id of the record (or reference) it lost to
    "scores": "string",  # JSON: heuristic and judge scores
    "metadata": "string",  # JSON: strategy, round, source call, ...
}


def record_id(*parts: Any) -> str:
    """A deterministic id from the parts that made a record: reruns give the same ids."""
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\x1f")
    return h.hexdigest()[:24]


def new_records(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a records DataFrame with every column present and typed."""
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("params", "scores", "metadata"):
        df[col] = df[col].map(_as_json)
    df["keep"] = [True if v is None or v is pd.NA or v != v else bool(v) for v in df["keep"]]
    return df.astype(COLUMNS)


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def to_json(value: Any) -> str:
    """The JSON text of a cell of a JSON column: keys sorted, compact, non-ASCII as is.
    orjson writes it ~9x faster than the standard encoder (a million small score dicts:
    ~1 s, not ~6 s); what orjson refuses (an int over 64 bits) takes the standard one."""
    try:
        return orjson.dumps(value, option=_ORJSON).decode()
    except TypeError:
        return _ENCODER.encode(value)


def _as_json(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "{}"
    if isinstance(value, str):
        return value
    return to_json(value)


def json_column(values: Iterable[dict[str, Any]]) -> pd.arrays.ArrowStringArray:
    """Dicts as a JSON string column (`to_json`)."""
    return pd.array([to_json(v) for v in values], dtype="string")


def json_cell(value: Any) -> dict[str, Any]:
    """One cell of a JSON column (`scores`, `metadata`, `params`) as a dict; {} when it is
    empty, missing or not a JSON object."""
    if not isinstance(value, str) or not value.startswith("{"):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def add_scores(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    """Merge named scores, one dict per row of `df`, into the JSON `scores` column (a None or
    NaN score leaves the row's stored one)."""
    merged = []
    for raw, new in zip(df["scores"], rows, strict=True):
        scores = json.loads(raw) if isinstance(raw, str) and raw else {}
        for name, value in new.items():
            if value is not None and not (isinstance(value, float) and pd.isna(value)):
                scores[name] = value
        merged.append(to_json(scores))
    df["scores"] = pd.array(merged, dtype="string")


def has_score(df: pd.DataFrame, name: str) -> pd.Series:
    """Whether each row's stored scores hold `name`, read off the JSON text as this module
    writes it (no parse per record: the judge asks this for every batch)."""
    key = to_json(name) + ":"  # "name": with or without a space after it, as older runs wrote
    return pd.Series([key in s for s in df["scores"].fillna("{}").tolist()], index=df.index,
                     dtype=bool)  # bool even when df is empty


ROWS_AT_ONCE = 20_000  # rows made into dicts at a time: a million dicts would hold GBs


def row_dicts(df: pd.DataFrame, columns: list[str] | None = None,
              chunk: int = ROWS_AT_ONCE) -> Iterator[dict[str, Any]]:
    """The rows as dicts (`iterrows` builds a Series a row, far slower), `chunk` rows at a
    time, so an export of a million records never holds them all as Python objects."""
    part = df if columns is None else df[columns]
    for start in range(0, len(part), chunk):
        yield from part.iloc[start:start + chunk].to_dict(orient="records")


def kept(df: pd.DataFrame) -> pd.DataFrame:
    """The rows still kept."""
    return df[df["keep"].fillna(False).astype(bool)]


def user_turns(instruction: Any, metadata: dict[str, Any]) -> list[str]:
    """The user side of a record, turn by turn: its instruction, the user turns after the
    first of its conversation (`metadata.turns`), and the tool calls it made
    (`metadata.calls`, `name(arguments)`). What dedup, the split and the reference and eval
    checks compare: two conversations that go different ways are not copies, and a later turn
    that copies an eval question is contamination like a first one."""
    first = instruction if isinstance(instruction, str) else ""
    later = [m["content"] for m in (metadata.get("turns") or [])[1:]
             if isinstance(m, dict) and m.get("role") == "user"
             and isinstance(m.get("content"), str)]
    return [first, *later, *(str(c) for c in metadata.get("calls") or [])]


def _carries_turns(raw: Any) -> bool:
    return isinstance(raw, str) and ('"turns"' in raw or '"calls"' in raw)


def user_texts(records: pd.DataFrame) -> list[str]:
    """Per record, its whole user side (`user_turns`) as one text; a record without later
    turns or calls (most of them) is its instruction, with no metadata parsed."""
    out = []
    for instruction, raw in zip(records["instruction"].fillna("").tolist(),
                                records["metadata"].tolist(), strict=True):
        out.append("\n".join(user_turns(instruction, json_cell(raw)))
                   if _carries_turns(raw) else instruction)
    return out
