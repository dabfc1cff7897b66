"""The texts from outside a run that curation compares against, and reading them.

`References` holds the seeds' own examples and task texts and the dataset being appended to;
reference and eval sets are named by path in the config (`curation.references`) and read
once per process. Files are read leniently (the first text-like field of each row); a file that
cannot be read at all is a ConfigError naming it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.errors import ConfigError
from datagen.similarity.pairs import ReferenceIndex

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
        except (json.JSONDecodeError, RecursionError):
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
                          hint="check curation.references.sets / curation.references.eval_sets")
    if p.suffix not in SUFFIXES:
        raise ConfigError(f"{p}: not a reference or eval set file",
                          hint=f"use one of {', '.join(SUFFIXES)}, or a run folder")
    return [p]


def load_texts(paths: list[str] | tuple[str, ...], *, answers: bool = False) -> list[str]:
    """Instructions (and, with `answers`, the answers too) of every row of the given files.
    A run folder's records count only where kept."""
    out: list[str] = []
    for path in paths:
        for f in _files(path):
            try:
                rows = _rows(f)
            except (OSError, ValueError, RecursionError) as exc:
                raise ConfigError(f"{f}: cannot read it as a reference or eval set: "
                                  f"{type(exc).__name__}: {str(exc)[:200]}",
                                  hint="fix or remove the file from curation.references") from None
            for row in rows:
                if "keep" in row and row["keep"] is not None and not bool(row["keep"]):
                    continue
                out += _row_texts(row, TEXT_FIELDS)
                if answers:
                    out += _row_texts(row, ANSWER_FIELDS)
    return out


@functools.lru_cache(maxsize=8)
def _file_index(paths: tuple[str, ...], answers: bool) -> ReferenceIndex:
    """An index over reference or eval files, built once per process."""
    return ReferenceIndex(load_texts(paths, answers=answers))


@dataclass
class References:
    """The outside texts of one curation pass: the seeds' own examples and task texts, the
    dataset being appended to, and (by path, from the config) reference and eval sets."""

    seed_examples: list[str] = field(default_factory=list)
    seed_tasks: list[str] = field(default_factory=list)  # each seed's `task` description
    published: pd.DataFrame | None = None  # columns id, instruction (and split)
    verdicts: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> a human's
    sources: dict[str, str] = field(default_factory=dict)  # grounded seeds: unit id -> text

    @functools.cached_property
    def examples(self) -> ReferenceIndex:
        return ReferenceIndex(list(self.seed_examples))

    @functools.cached_property
    def tasks(self) -> ReferenceIndex:
        return ReferenceIndex(list(self.seed_tasks))

    @functools.cached_property
    def published_index(self) -> ReferenceIndex:
        texts = [] if self.published is None else \
            self.published["instruction"].fillna("").astype(str).tolist()
        return ReferenceIndex(texts)

    def sets(self, paths: list[str]) -> ReferenceIndex:
        return _file_index(tuple(paths), False)

    def evals(self, paths: list[str]) -> ReferenceIndex:
        return _file_index(tuple(paths), True)


