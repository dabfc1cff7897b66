"""What the record viewer reads: a light index of every record, and its full texts in chunks.

The index is columnar and small (ids, codes into a dictionary per category, word counts,
scores, a short snippet): the page parses it at once and filters, sorts and pages it
without touching the DOM for rows it does not show. Full texts (instruction, response, every
verdict and score, provenance) come in chunks of `CHUNK` records, parsed only when a record
is opened or a full-text search runs. Up to `INLINE_BYTES` the chunks sit inside the page
(`<script type="application/json">`, which the browser does not parse), so `report.html` is
one self-contained file; above that they are files next to it (`report_files/`), loaded by
script tags, which a browser allows from `file://` and over HTTP alike. Both are written by
`datagen.markup.script_json`: a `<!--` or `</script>` in a record stays text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import xxhash

from datagen.checks.registry import stage_of
from datagen.records import json_cell
from datagen.text import word_counts

CHUNK = 2000
INLINE_BYTES = 24 * 1024 * 1024
# records the viewer holds: its index is ~160 bytes a record and parsed whole when the page
# opens, so past this a run shows a fixed sample (every dropped reason and split still in it)
VIEWER_MAX = 100_000
SNIPPET = 140
CATEGORIES = ("seed", "strategy", "split", "reason", "language")
SCORES = ("quality", "judge", "language_score", "completion_tokens", "instruction_words",
          "response_words")


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _codes(values: list[str]) -> tuple[list[str], list[int]]:
    names = sorted(set(values))
    at = {v: i for i, v in enumerate(names)}
    return names, [at[v] for v in values]


def _judge(scores: dict[str, Any]) -> float | None:
    value = scores.get("judge")
    if isinstance(value, dict):
        value = value.get("overall", value.get("score"))
    return float(value) if isinstance(value, int | float) else None


def viewed(records: pd.DataFrame, most: int | None = None) -> pd.DataFrame:
    """The records the viewer shows: all up to `most`, else a sample of `most` chosen by a
    hash of the id (the same records on every rewrite, whatever the row order), in the
    records' order. The page's statistics are computed on every record, not on this."""
    most = VIEWER_MAX if most is None else most
    if len(records) <= most:
        return records
    rank = np.fromiter((xxhash.xxh3_64_intdigest(str(i).encode()) for i in records["id"]),
                       dtype=np.uint64, count=len(records))
    chosen = np.sort(np.argsort(rank, kind="stable")[:most])
    return records.iloc[chosen]


def build(records: pd.DataFrame, labels: pd.Series, sources: dict[str, str] | None = None
          ) -> tuple[dict[str, Any], list[list[Any]]]:
    """The index, and the text chunks (lists of [instruction, response, details]); a grounded
    record's details carry its source: file, chunk or row, and the text it was made from."""
    records = records.reset_index(drop=False).rename(columns={"index": "_row"})
    split = labels.reindex(records["_row"]).astype("string").fillna("").tolist()
    metas = [json_cell(m) for m in records["metadata"].tolist()]
    scores = [json_cell(s) for s in records["scores"].tolist()]
    keep = records["keep"].fillna(False).astype(bool).tolist()
    reason = ["kept" if k else str(r if isinstance(r, str) else "dropped")
              for k, r in zip(keep, records["drop_reason"], strict=True)]
    language = [str(d if isinstance(d, str) and d else t if isinstance(t, str) else "")
                for d, t in zip(records["detected_language"], records["language"], strict=True)]
    cats = {"seed": records["seed_id"].fillna("").astype(str).tolist(),
            "strategy": [str(m.get("strategy", m.get("source", ""))) for m in metas],
            "split": [s or ("dropped" if not k else "") for s, k in zip(split, keep,
                                                                       strict=True)],
            "reason": reason, "language": language}
    dictionary, cols = {}, {}
    for name in CATEGORIES:
        dictionary[name], cols[name] = _codes(cats[name])
    iw = word_counts(records["instruction"].fillna("").astype(str)).tolist()
    rw = word_counts(records["response"].fillna("").astype(str)).tolist()
    score_cols = {
        "quality": [_clean(s.get("quality")) for s in scores],
        "judge": [_judge(s) for s in scores],
        "language_score": [_clean(v) for v in records["language_score"].tolist()],
        "completion_tokens": [_clean(v) for v in records["completion_tokens"].tolist()],
        "instruction_words": [int(v) for v in iw], "response_words": [int(v) for v in rw],
    }
    instruction = records["instruction"].fillna("").astype(str).tolist()
    index = {
        "n": len(records), "chunk": CHUNK, "dict": dictionary, "cats": cols,
        "id": records["id"].astype(str).tolist(),
        "snippet": [t[:SNIPPET].replace("\n", " ") for t in instruction],
        "scores": {k: v for k, v in score_cols.items() if any(x is not None for x in v)},
        "stage": {r: stage_of(r) for r in dictionary["reason"] if r != "kept"},
    }
    chunks: list[list[Any]] = []
    rows = records.to_dict(orient="records")
    for start in range(0, len(rows), CHUNK):
        part = []
        for i in range(start, min(start + CHUNK, len(rows))):
            row = rows[i]
            details = {k: _clean(row.get(k)) for k in (
                "system", "model", "finish_reason", "prompt_tokens", "completion_tokens",
                "detected_language", "language_score", "dup_cluster", "lost_to", "run_id",
                "domain", "language")}
            details["params"] = json_cell(row.get("params")) or None
            details["scores"] = scores[i]
            details["metadata"] = metas[i]
            ref = metas[i].get("source")
            if isinstance(ref, dict) and sources and ref.get("id") in sources:
                details["source"] = {**ref, "text": sources[ref["id"]]}
            part.append([instruction[i], _clean(row.get("response")) or "", details])
        chunks.append(part)
    return index, chunks

