"""Texts from outside the run, and the one way records are matched against them.

`ReferenceIndex` answers "which reference text is this a copy of?": an exact match of the
normalised text, else the most similar reference at a rapidfuzz ratio >= threshold on
token-sorted text (all pairs with `cdist` when small, MinHash LSH candidates verified with
`cpdist` when large), and "does it share a word n-gram with any reference?" (GPT-3 style
decontamination; a text shorter than n words counts as one n-gram). It serves four checks:

- `seed_overlap`: an instruction that copies one of the seed's own examples;
- `reference_duplicate`: an instruction already in a reference set (`references.sets`: earlier
  run folders, published datasets, JSONL/CSV/Parquet/TXT files);
- `eval_contamination`: a pair whose instruction or response shares a word n-gram with an
  eval set's questions or answers, or whose instruction is a near copy of an eval question;
  training on the test set would make the user's evaluation meaningless;
- `published_duplicate`: appending, an instruction already in the dataset appended to;

and the split of an appended run (a new pair joins the split of its published paraphrase).
Each drop names what it lost to (`lost_to`: `example:3`, `reference:17`, `eval:5`, or the
published record's id).

Files are read leniently (the first text-like field of each row); a file that cannot be read
at all is a ConfigError naming it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from rapidfuzz import fuzz, process

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.dedup import ALLPAIRS_MAX, BLOCK_ROWS, exact_key, lsh_for, verified
from datagen.curate.minhash import bucket_pairs, lsh_keys
from datagen.curate.reasons import DropReason
from datagen.errors import ConfigError
from datagen.text import normalize, token_sort, word_ngrams

TEXT_FIELDS = ("instruction", "prompt", "question", "input", "query", "text", "problem")
ANSWER_FIELDS = ("response", "output", "answer", "completion", "solution")
SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")


class ReferenceIndex:
    """Reference texts, indexed for exact, near and n-gram matching."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._exact: dict[str, int] = {}
        for i, t in enumerate(texts):
            self._exact.setdefault(exact_key(t), i)

    @functools.cached_property
    def _prepared(self) -> list[str]:
        return [token_sort(t) for t in self.texts]

    def nearest(self, queries: list[str], threshold: float, *,
                allpairs_max: int = ALLPAIRS_MAX) -> np.ndarray:
        """Per query, the index of its exact match, else of the most similar reference at
        ratio >= threshold, else -1."""
        found = np.full(len(queries), -1, dtype=np.int64)
        if not queries or not self.texts:
            return found
        for q, text in enumerate(queries):
            found[q] = self._exact.get(exact_key(text), -1)
        todo = np.flatnonzero(found < 0)
        if len(todo) == 0:
            return found
        prepared = [token_sort(queries[q]) for q in todo]
        refs = self._prepared
        if len(prepared) * len(refs) <= allpairs_max ** 2 // 2:
            for start in range(0, len(prepared), BLOCK_ROWS):
                scores = process.cdist(prepared[start:start + BLOCK_ROWS], refs,
                                       scorer=fuzz.ratio, score_cutoff=threshold,
                                       dtype=np.uint8, workers=-1)
                best = scores.argmax(axis=1)
                ok = scores[np.arange(len(best)), best] > 0
                found[todo[start:start + BLOCK_ROWS][ok]] = best[ok]
            return found
        lsh = lsh_for(threshold)
        keys, empty = lsh_keys(refs + prepared, lsh)
        pairs = bucket_pairs(keys, empty, lsh)
        cross = pairs[(pairs[:, 0] < len(refs)) & (pairs[:, 1] >= len(refs))]
        cand = np.stack([cross[:, 1] - len(refs), cross[:, 0]], axis=1)
        ok, scores = verified(prepared, refs, cand, threshold)
        best_score = np.full(len(prepared), -1.0)
        for (q, r), s in zip(ok.tolist(), scores.tolist(), strict=True):
            if s > best_score[q]:
                best_score[q] = s
                found[todo[q]] = r
        return found

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one index lives as long as its texts
    def _ngrams(self, n: int) -> dict[int, int]:
        out: dict[int, int] = {}
        for i, t in enumerate(self.texts):
            for g in word_ngrams(normalize(t).split(), n):
                out.setdefault(xxhash.xxh3_64_intdigest(g.encode()), i)
        return out

    def ngram_match(self, queries: list[str], n: int) -> np.ndarray:
        """Per query, the index of a reference sharing a word n-gram with it, else -1."""
        index = self._ngrams(n)
        found = np.full(len(queries), -1, dtype=np.int64)
        for q, text in enumerate(queries):
            for g in word_ngrams(normalize(text).split(), n):
                hit = index.get(xxhash.xxh3_64_intdigest(g.encode()))
                if hit is not None:
                    found[q] = hit
                    break
        return found


# ---- reading reference and eval sets ---------------------------------------------------------

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


# ---- the checks ------------------------------------------------------------------------------

def _verdicts(ctx: Context, found: np.ndarray, reason: str, prefix: str,
              ids: list[str] | None = None) -> Verdicts:
    hit = pd.Series(found >= 0, index=ctx.frame.index)
    names = [None if f < 0 else (ids[f] if ids is not None else f"{prefix}:{f}")
             for f in found.tolist()]
    return Verdicts.where(hit, reason, lost_to=pd.Series(names, index=ctx.frame.index,
                                                         dtype="object"))


def _seed_overlap(ctx: Context) -> Verdicts:
    found = ctx.refs.examples.nearest(ctx.texts.instruction.tolist(), ctx.cfg.dedup.near_threshold)
    return _verdicts(ctx, found, DropReason.SEED_OVERLAP, "example")


def _reference(ctx: Context) -> Verdicts:
    index = ctx.refs.sets(ctx.cfg.references.sets)
    found = index.nearest(ctx.texts.instruction.tolist(), ctx.cfg.dedup.near_threshold)
    return _verdicts(ctx, found, DropReason.REFERENCE_DUPLICATE, "reference")


def _eval(ctx: Context) -> Verdicts:
    cfg = ctx.cfg.references
    index = ctx.refs.evals(cfg.eval_sets)
    ins, res = ctx.texts.instruction.tolist(), ctx.texts.response.tolist()
    answered = ctx.frame["response"].notna().to_numpy()
    found = index.ngram_match(ins, cfg.ngram)
    by_answer = index.ngram_match(res, cfg.ngram)
    found = np.where((found < 0) & answered, by_answer, found)
    near = index.nearest(ins, ctx.cfg.dedup.near_threshold)
    found = np.where(found < 0, near, found)
    return _verdicts(ctx, found, DropReason.EVAL_CONTAMINATION, "eval")


def _published(ctx: Context) -> Verdicts:
    assert ctx.refs.published is not None
    found = ctx.refs.published_index.nearest(ctx.texts.instruction.tolist(),
                                             ctx.cfg.dedup.near_threshold)
    ids = ctx.refs.published["id"].astype(str).tolist()
    return _verdicts(ctx, found, DropReason.PUBLISHED_DUPLICATE, "published", ids)


SEED_OVERLAP = Check(
    name="seed_overlap", reasons=(DropReason.SEED_OVERLAP,), inputs=("instruction",),
    section="dedup", level="instruction", run=_seed_overlap,
    active=lambda ctx: bool(ctx.refs.seed_examples))
REFERENCE_SETS = Check(
    name="reference_sets", reasons=(DropReason.REFERENCE_DUPLICATE,), inputs=("instruction",),
    section="references", level="instruction", run=_reference,
    active=lambda ctx: bool(ctx.cfg.references.sets))
EVAL_SETS = Check(
    name="eval_sets", reasons=(DropReason.EVAL_CONTAMINATION,),
    inputs=("instruction", "response"), section="references", level="instruction", run=_eval,
    active=lambda ctx: bool(ctx.cfg.references.eval_sets))
PUBLISHED = Check(
    name="published", reasons=(DropReason.PUBLISHED_DUPLICATE,), inputs=("instruction",),
    section="dedup", level="instruction", run=_published,
    active=lambda ctx: ctx.refs.published is not None and not ctx.refs.published.empty)
