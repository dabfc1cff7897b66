"""A Hugging Face dataset folder: Parquet per split under `data/`, PNG plots under `plots/`,
and a README.md card whose YAML `configs` let `datasets.load_dataset(folder)` find the splits
offline (and on the Hub, once pushed).

Columns: `messages` (the chat example, as in the OpenAI export) plus `instruction`, `response`,
`seed_id`, `domain` and `language`, so users can filter without parsing messages. A message
has a `weight` field only when some message carries one, in every split alike. Records of a
grounded seed add their provenance: `source_file`, `source_id` (the chunk or row id),
`source_start`/`source_end` (the chunk's character span) and `source_row`.

Records of a seed with `tools` add `tool_calls` and `tool_call_id` to the message struct (in
every split alike) and a `tools` column: the definitions as one JSON text per row, exactly as
the OpenAI line has them. As an Arrow struct they would not stay as they are: Arrow merges the
parameter schemas of every tool into one struct and fills the keys a tool lacks with nulls.

The card also records `dataset_info` (features, rows and bytes per split). Besides informing
the Hub viewer, it keys `datasets`' local cache: `load_dataset` on a local folder hashes only the
card and the file patterns, so without it two run folders' `hf/` (same name, same patterns)
share one cache entry and the second load silently returns the first one's rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import DatasetInfo, Features, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard, DatasetCardData

from datagen.export.openai import Weighting, messages, tools
from datagen.files import atomic_dir
from datagen.records import ROWS_AT_ONCE, json_cell, row_dicts

GENERATION_FILE = ".generation"  # the run folder generation this export belongs to
COLUMNS = ("id", "messages", "instruction", "response", "seed_id", "domain", "language")
SOURCE_COLUMNS = {"source_file": ("file", pa.string()), "source_id": ("id", pa.string()),
                  "source_start": ("start", pa.int64()), "source_end": ("end", pa.int64()),
                  "source_row": ("row", pa.int64())}


TOOL_CALL = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", pa.struct(
    [("name", pa.string()), ("arguments", pa.string())]))])


def schema(weighted: bool = False, grounded: bool = False, tooled: bool = False) -> pa.Schema:
    fields = [("role", pa.string()), ("content", pa.string())]
    if weighted:
        fields.append(("weight", pa.int8()))
    if tooled:
        fields += [("tool_calls", pa.list_(TOOL_CALL)), ("tool_call_id", pa.string())]
    extra = [(name, kind) for name, (_, kind) in SOURCE_COLUMNS.items()] if grounded else []
    if tooled:
        extra.append(("tools", pa.string()))
    return pa.schema([
        ("id", pa.string()), ("messages", pa.list_(pa.struct(fields))),
        ("instruction", pa.string()), ("response", pa.string()), ("seed_id", pa.string()),
        ("domain", pa.string()), ("language", pa.string()), *extra,
    ])


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _rows(records: pd.DataFrame, *, system_message: bool, weight: Weighting) -> dict[str, list]:
    rows: dict[str, list[Any]] = {c: [] for c in (*COLUMNS, *SOURCE_COLUMNS, "tools")}
    for r in row_dicts(records):
        rows["messages"].append(messages(r, system_message=system_message, weight=weight))
        defs = tools(r)
        rows["tools"].append(None if defs is None else json.dumps(defs, ensure_ascii=False))
        for c in COLUMNS:
            if c != "messages":
                rows[c].append(None if pd.isna(r[c]) else str(r[c]))
        source = json_cell(r["metadata"]).get("source") or {}
        for c, (key, _) in SOURCE_COLUMNS.items():
            rows[c].append(source.get(key) if isinstance(source, dict) else None)
    return rows


def _kinds(rows: dict[str, list]) -> tuple[bool, bool, bool]:
    """Which optional parts the rows hold: weights, sources, tools (`schema`'s flags)."""
    return (any("weight" in m for msgs in rows["messages"] for m in msgs),
            any(v is not None for v in rows["source_id"]),
            any(v is not None for v in rows["tools"]))


def _table(rows: dict[str, list], shared: pa.Schema) -> pa.Table:
    return pa.Table.from_pydict({c: rows[c] for c in shared.names}, schema=shared)


def tables(splits: dict[str, pd.DataFrame], *, system_message: bool = True,
           weight: Weighting = "none") -> dict[str, pa.Table]:
    """One Arrow table per non-empty split, every split with the same columns. Records are
    turned into rows `ROWS_AT_ONCE` at a time, and only the Arrow tables stay: a million
    records as Python dicts would hold several GB. A part whose own schema lacks a column
    that another part needs (weights, sources or tools in some records only) is made again
    with the shared one."""
    parts: list[tuple[str, slice, tuple[bool, bool, bool], pa.Table]] = []
    for name, df in splits.items():
        for start in range(0, len(df), ROWS_AT_ONCE):
            at = slice(start, start + ROWS_AT_ONCE)
            rows = _rows(df.iloc[at], system_message=system_message, weight=weight)
            kinds = _kinds(rows)
            parts.append((name, at, kinds, _table(rows, schema(*kinds))))
    shared_kinds = tuple(any(p[2][i] for p in parts) for i in range(3))
    shared = schema(*shared_kinds)
    out: dict[str, list[pa.Table]] = {}
    for name, at, kinds, table in parts:
        if kinds != shared_kinds:
            table = _table(_rows(splits[name].iloc[at], system_message=system_message,
                                 weight=weight), shared)
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(ts) for name, ts in out.items()}


def _info(tables: dict[str, pa.Table], files: list[Path]) -> DatasetInfo:
    splits = SplitDict()
    for name, t in tables.items():
        splits.add(SplitInfo(name=name, num_bytes=t.nbytes, num_examples=t.num_rows))
    return DatasetInfo(features=Features.from_arrow_schema(next(iter(tables.values())).schema),
                       splits=splits, download_size=sum(f.stat().st_size for f in files),
                       dataset_size=sum(t.nbytes for t in tables.values()))


_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
PREFERENCE_SCHEMA = pa.schema([
    ("id", pa.string()), ("prompt", _MESSAGES), ("chosen", _MESSAGES), ("rejected", _MESSAGES),
    ("chosen_score", pa.float64()), ("rejected_score", pa.float64()), ("margin", pa.float64()),
    ("rejected_id", pa.string()), ("rejected_drop_reason", pa.string()), ("seed_id", pa.string()),
])


def preference_schema(tooled: bool = False) -> pa.Schema:
    """`PREFERENCE_SCHEMA`; with tools, prompts whose messages may hold tool calls and tool
    replies, and the definitions as one JSON text per row (as in the SFT export)."""
    if not tooled:
        return PREFERENCE_SCHEMA
    message = pa.struct([("role", pa.string()), ("content", pa.string()),
                         ("tool_calls", pa.list_(TOOL_CALL)), ("tool_call_id", pa.string())])
    return PREFERENCE_SCHEMA.set(PREFERENCE_SCHEMA.get_field_index("prompt"),
                                 pa.field("prompt", pa.list_(message))).append(
        pa.field("tools", pa.string()))


def preference_tables(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pa.Table]:
    """The `preference` config's tables (TRL's conversational rows, `export.preference`),
    every split with the same columns."""
    shared = preference_schema(any("tools" in r for part in rows.values() for r in part))
    return {name: pa.Table.from_pylist(r, schema=shared) for name, r in rows.items() if r}


def write_hf(
    splits: dict[str, pd.DataFrame], folder: str | Path, *, card_body: str,
    card_meta: dict[str, Any], system_message: bool = True, weight: Weighting = "none",
    assets: Callable[[Path], Any] | None = None,
    preference: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, int]:
    """Write the folder atomically; return the row count per split written. `assets(folder)`
    adds files (the plots) inside the folder before it is swapped into place. `preference`
    (rows per split) adds the second config, `preference`, under `data/preference/`."""
    by_split = tables(splits, system_message=system_message, weight=weight)
    pref = preference_tables(preference or {})
    with atomic_dir(folder) as tmp:
        (tmp / "data").mkdir()
        if assets is not None:
            assets(tmp)
        configs, files = [], []
        for name, t in by_split.items():
            files.append(tmp / "data" / f"{name}-00000-of-00001.parquet")
            pq.write_table(t, files[-1])
            configs.append({"split": name, "path": f"data/{name}-*.parquet"})
        pref_configs, pref_files = [], []
        if pref:
            (tmp / "data" / "preference").mkdir()
        for name, t in pref.items():
            pref_files.append(tmp / "data" / "preference" / f"{name}-00000-of-00001.parquet")
            pq.write_table(t, pref_files[-1])
            pref_configs.append({"split": name, "path": f"data/preference/{name}-*.parquet"})
        data = DatasetCardData(
            configs=[{"config_name": "default", "data_files": configs},
                     *([{"config_name": "preference", "data_files": pref_configs}]
                       if pref else [])],
            size_categories=[size_category(sum(t.num_rows for t in by_split.values()))],
            task_categories=["text-generation"],
            **card_meta,
        )
        infos = {}
        if by_split:
            infos["default"] = _info(by_split, files)
        if pref:
            infos["preference"] = _info(pref, pref_files)
        if infos:
            DatasetInfosDict(infos).to_dataset_card_data(data)
        card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_body}\n")
        (tmp / "README.md").write_text(str(card), encoding="utf-8")
    return {name: t.num_rows for name, t in by_split.items()}
