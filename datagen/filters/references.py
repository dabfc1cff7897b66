"""Dedup against texts from outside the run: reference datasets and eval sets.

- Reference sets (an earlier run's folder, a published dataset, a JSONL/CSV/Parquet file):
  an instruction already there, exactly or as a near-duplicate, is `reference_duplicate`.
- Eval sets: a pair that shares a word n-gram with any eval text (GPT-3 style n-gram
  decontamination; a text shorter than n words counts as one n-gram), or whose instruction
  is a near-duplicate of one, is `eval_contamination`: training on the test set would make
  the user's evaluation meaningless.

Files are read leniently (the first text-like field of each row); unreadable rows are skipped,
never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash

from datagen.dedup import reference_matches
from datagen.errors import ConfigError
from datagen.records import DropReason, drop
from datagen.text import normalize, word_ngrams

TEXT_FIELDS = ("instruction", "prompt", "question", "input", "query", "text", "problem")
ANSWER_FIELDS = ("response", "output", "answer", "completion", "solution")
SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")


def _row_texts(row: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    if isinstance(row.get("messages"), list):  # OpenAI chat format
        roles = {"user"} if fields is TEXT_FIELDS else {"assistant"}
        return [m["content"] for m in row["messages"]
                if isinstance(m, dict) and m.get("role") in roles
                and isinstance(m.get("content"), str)]
    return [row[f] for f in fields if isinstance(row.get(f), str) and row[f].strip()][:1]


def _rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_dict(orient="records")
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict(orient="records")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".txt":
        return [{"text": line} for line in text.splitlines() if line.strip()]
    if path.suffix == ".json":
        data = json.loads(text)
        return [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _files(path: str | Path) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        if (p / "records.parquet").exists():  # a run folder or published dataset
            return [p / "records.parquet"]
        return sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
    if not p.exists():
        raise ConfigError(f"{p}: no such reference or eval set",
                          hint="check curation.reference_sets / curation.eval_sets")
    return [p]


def load_texts(paths: list[str], *, answers: bool = False) -> list[str]:
    """Instructions (or, with `answers`, also the answers) of every row of the given files.
    A run folder's records count only where kept."""
    out: list[str] = []
    for path in paths:
        for f in _files(path):
            for row in _rows(f):
                if "keep" in row and row["keep"] is not None and not bool(row["keep"]):
                    continue
                out += _row_texts(row, TEXT_FIELDS)
                if answers:
                    out += _row_texts(row, ANSWER_FIELDS)
    return out


def ngram_index(texts: list[str], n: int) -> set[int]:
    return {xxhash.xxh3_64_intdigest(g.encode()) for t in texts
            for g in word_ngrams(normalize(t).split(), n)}


def ngram_hits(texts: list[str], index: set[int], n: int) -> np.ndarray:
    """Per text, whether any of its word n-grams is in the index."""
    return np.fromiter(
        (any(xxhash.xxh3_64_intdigest(g.encode()) in index
             for g in word_ngrams(normalize(t).split(), n)) for t in texts),
        dtype=bool, count=len(texts))


def mark_reference_duplicates(df: pd.DataFrame, references: list[str], threshold: float) -> int:
    """Drop kept records whose instruction is in a reference set (exact or near)."""
    live = df.index[df["keep"].fillna(False).astype(bool)]
    if not references or len(live) == 0:
        return 0
    hit = reference_matches(df.loc[live, "instruction"].fillna("").tolist(), references,
                            threshold)
    return drop(df, pd.Series(hit, index=live).reindex(df.index, fill_value=False),
                DropReason.REFERENCE_DUPLICATE)


def mark_contaminated(df: pd.DataFrame, eval_texts: list[str], threshold: float, n: int) -> int:
    """Drop kept records sharing a word n-gram with an eval text (either field), or whose
    instruction is a near-duplicate of one."""
    live = df.index[df["keep"].fillna(False).astype(bool)]
    if not eval_texts or len(live) == 0:
        return 0
    index = ngram_index(eval_texts, n)
    ins = df.loc[live, "instruction"].fillna("").tolist()
    res = df.loc[live, "response"].fillna("").tolist()
    hit = ngram_hits(ins, index, n) | ngram_hits(res, index, n)
    hit |= reference_matches(ins, eval_texts, threshold)
    return drop(df, pd.Series(hit, index=live).reindex(df.index, fill_value=False),
                DropReason.EVAL_CONTAMINATION)
