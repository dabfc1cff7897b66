"""The one curation runner: every verdict from scratch, check by check, in the declared order.

Input columns: id, seed_id, language, instruction, response, finish_reason, metadata, scores,
keep and drop_reason (generation failures, which stay).
Output columns: keep, drop_reason, lost_to, dup_cluster, detected_language, language_score,
scores (each check's named scores; stored judge scores are kept), and, with
`curation.pii.mode: mask`, masked instruction/response.

Verdicts are derived from the records alone (plus the outside texts in `References` and the
judge scores already stored), so curation gives the same answer after each generation round,
on resume, and on a finished run with a new config (`datagen curate`). The generation rounds,
the final pass of a run and `datagen curate` all call `curate` here, and nothing else marks a
record.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

import pandas as pd

from datagen.checks import human
from datagen.checks.check import TEXT_COLUMNS, Check, Context, Texts, Verdicts
from datagen.checks.registry import CHECK_NAMES, CHECKS
from datagen.config import CurationConfig
from datagen.curate.outside import References
from datagen.curate.pool import Mapper, local_mapper, partitions_of, slices
from datagen.memory import release_memory
from datagen.reasons import GENERATION
from datagen.records import json_column

# The order of the pass is the checks' declared `order` (`datagen.checks.registry`): the first
# reason that applies is the one a record is dropped for, so cheap instruction checks run
# before anything that needs an answer, and dedup runs once the other checks have spoken, so
# that the best surviving member of each cluster is kept.
__all__ = ["CHECKS", "CHECK_NAMES", "curate", "curate_rest", "reset"]
# What judges an answer on its own: run again over each later turn of a conversation (`turns`)
ANSWER_CHECKS = CHECKS[CHECK_NAMES.index("response_length"):CHECK_NAMES.index("turns")]
# Everything before dedup judges each record on its own (and the outside texts): those checks
# give the same verdicts on any partition of the records. Dedup and what follows compare
# records with each other, so they see all of them at once.
LOCAL = CHECKS[:CHECK_NAMES.index("dedup")]
GLOBAL = CHECKS[len(LOCAL):]

# The record-local checks that read scores: after a screened record is judged, only these
# can change its verdict (the others read no score), so only these run again.
SCORED = tuple(c for c in LOCAL if "scores" in c.inputs)
KEPT_SCORES = ("judge",)  # score keys written by the (paid) judge stage survive a reset


def _scores(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str) or raw in ("", "{}"):
        return {}
    data = json.loads(raw)
    return {k: v for k, v in data.items() if k.startswith(KEPT_SCORES)}


def reset(records: pd.DataFrame) -> pd.DataFrame:
    """A copy with every curation verdict cleared; generation failures stay dropped."""
    out = records.copy()
    generated = ~out["drop_reason"].isin(list(GENERATION)).fillna(False).astype(bool)
    out.loc[generated, "keep"] = True
    out.loc[generated, "drop_reason"] = pd.NA
    for col in ("dup_cluster", "lost_to", "detected_language", "language_score"):
        out[col] = pd.NA
    return out.astype(records.dtypes.to_dict())


def _apply(out: pd.DataFrame, scores: pd.Series, v: Verdicts) -> bool:
    """Write one check's verdicts; True when it changed a text column."""
    hit = v.reason.dropna()
    if len(hit):
        out.loc[hit.index, "keep"] = False
        out.loc[hit.index, "drop_reason"] = hit.astype(str).to_numpy()
        if v.lost_to is not None:
            out.loc[hit.index, "lost_to"] = v.lost_to.loc[hit.index].to_numpy()
    for col, values in v.columns.items():
        if len(values):
            out.loc[values.index, col] = values.to_numpy()
    for name, values in v.scores.items():  # one assignment per score, not one per row
        given = [not (value is None or (isinstance(value, float) and pd.isna(value)))
                 for value in values.tolist()]
        idx = values.index[given]
        merged = [{**old, name: value} for old, value in
                  zip(scores.loc[idx].tolist(), values[given].tolist(), strict=True)]
        scores.loc[idx] = pd.Series(merged, index=idx, dtype=object)
    return bool({"instruction", "response"} & set(v.columns))


# What a slice's record-local pass sends back (the texts too when PII masking rewrote them);
# its scores stay dicts, for the checks that follow
VERDICT_COLUMNS = ("keep", "drop_reason", "lost_to", "dup_cluster", "detected_language",
                   "language_score", "scores")


def curate(records: pd.DataFrame, cfg: CurationConfig, *, refs: References | None = None,
           targets: dict[str, int] | None = None, seed: int = 0,
           checks: tuple[Check, ...] | None = None, mapper: Mapper | None = None,
           parts: int | None = None) -> pd.DataFrame:
    """All verdicts, from scratch. `targets` (the final pass) turns the surplus check on;
    between generation rounds it stays off, as more pairs may still come. The record-local
    checks of a large pass run on slices (`datagen.curate.pool`), or on `parts` partitions
    through `mapper` (a cluster's); the verdicts are the same. So does the record-by-record
    part of the checks that follow (`Check.prepare`: dedup's keys and sketches)."""
    checks = checks or CHECKS
    out = reset(records)
    if out.empty:
        return out
    refs = refs or References()
    local = tuple(itertools.takewhile(lambda c: c in LOCAL, checks))
    if local and (mapper is not None or slices(len(out), cfg.workers) > 1):
        run = mapper or local_mapper(len(out), cfg.workers)
        columns = VERDICT_COLUMNS + (("instruction", "response")
                                     if cfg.pii.mode == "mask" else ())
        rest = checks[len(local):]
        prepared = tuple(c.name for c in rest if c.prepare and c.name not in cfg.skip)
        judged = run(functools.partial(_sliced, cfg=cfg, refs=refs, seed=seed,
                                       names=tuple(c.name for c in local), columns=columns,
                                       prepared=prepared, rows=len(out)),
                     partitions_of(out, parts or slices(len(out), cfg.workers)))
        for col in columns:
            out[col] = pd.concat([frame[col] for frame, _ in judged])
        made = {name: type(judged[0][1][name]).concat([m[name] for _, m in judged])
                for name in prepared}
        del judged  # the slices' copies (a sketch is ~400 bytes a record) go before the rest
        release_memory()
        scores = out["scores"]
        if not rest:
            return _finish(out, scores)
        return _rest(out, scores, rest, cfg, refs, seed, targets, made)
    scores = pd.Series([_scores(s) for s in out["scores"].tolist()], index=out.index,
                       dtype=object)
    return _finish(*_judge(out, scores, checks, cfg, refs, seed, targets))


def _sliced(part: pd.DataFrame, *, cfg: CurationConfig, refs: References, seed: int,
            names: tuple[str, ...], columns: tuple[str, ...], prepared: tuple[str, ...],
            rows: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One slice's record-local verdicts, with its scores as dicts, and what the checks named
    in `prepared` made of its rows (checks go by name: a check holds lambdas, which do not
    pickle)."""
    checks = tuple(c for c in CHECKS if c.name in names)
    scores = pd.Series([_scores(s) for s in part["scores"].tolist()], index=part.index,
                       dtype=object)
    texts = Texts(part.copy())  # the views the checks made serve `prepare` too
    out, scores = _judge(texts.frame, scores, checks, cfg, refs, seed, None, texts=texts)
    out["scores"] = scores
    made = {c.name: c.prepare(texts, cfg, rows) for c in CHECKS
            if c.name in prepared and c.prepare}
    return out[list(columns)], made


def curate_rest(judged: pd.DataFrame, cfg: CurationConfig, *, refs: References | None = None,
                targets: dict[str, int] | None = None, seed: int = 0,
                checks: tuple[Check, ...] = GLOBAL) -> pd.DataFrame:
    """The `GLOBAL` checks over records the `LOCAL` ones already judged (in partitions, say):
    their verdicts and scores stand, and the result is what `curate` gives in one pass. With
    `checks=SCORED`: records screened, then judged, get the verdicts a new screen gives."""
    out = judged.copy()
    if out.empty:
        return out
    scores = pd.Series([json.loads(s) if isinstance(s, str) and s else {}
                        for s in out["scores"].tolist()], index=out.index, dtype=object)
    return _rest(out, scores, checks, cfg, refs or References(), seed, targets, {})


def _rest(out: pd.DataFrame, scores: pd.Series, checks: tuple[Check, ...],
          cfg: CurationConfig, refs: References, seed: int, targets: dict[str, int] | None,
          made: dict[str, Any]) -> pd.DataFrame:
    """`curate_rest` on a frame whose scores are dicts already (`scores`, not a column), with
    what the checks' `prepare` made on the slices (`made`)."""
    texts = Texts(out, made=made)
    protected = pd.Series(False, index=out.index)
    ctx = Context(frame=out, texts=texts, cfg=cfg, refs=refs, scores=scores, seed=seed)
    if human.CHECK.name not in cfg.skip and human.CHECK.active(ctx):
        keep = human.CHECK.run(ctx).protect  # human keeps are judged by no later check
        if keep is not None:
            protected = keep.fillna(False).astype(bool)
    return _finish(*_judge(out, scores, checks, cfg, refs, seed, targets, protected, texts))


def _finish(out: pd.DataFrame, scores: pd.Series) -> pd.DataFrame:
    """The frame as stored: every record in a cluster (its own, when it has no copy), and
    its scores as JSON."""
    out["dup_cluster"] = out["dup_cluster"].fillna(out["id"])
    out["scores"] = json_column(scores)
    return out


def _judge(out: pd.DataFrame, scores: pd.Series, checks: tuple[Check, ...],
           cfg: CurationConfig, refs: References, seed: int, targets: dict[str, int] | None,
           protected: pd.Series | None = None,
           texts: Texts | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Each check in turn over the rows still kept; the verdicts, and the scores as dicts."""
    texts = texts or Texts(out)
    protected = pd.Series(False, index=out.index) if protected is None else protected.copy()
    # the live rows a check sees, per level, kept until a verdict changes the frame: most
    # checks drop nothing, and cutting the frame anew for each one was most of a small pass;
    # a cut holds the columns the pass's checks read (a run's personas, parameters and model
    # names are no check's business)
    views: dict[str, tuple[pd.Index, pd.DataFrame, Texts]] = {}
    read = [c for c in out.columns if c not in TEXT_COLUMNS
            and (c == "id" or any(c in k.inputs for k in checks))]
    for check in checks:
        if check.name in cfg.skip:
            continue
        live = out["keep"].fillna(False).astype(bool) & ~protected
        if check.level == "pair":
            live &= out["response"].notna()
        idx = out.index[live]
        if len(idx) == 0 or not check.active(Context(frame=out, texts=texts, cfg=cfg, refs=refs,
                                                     scores=scores, seed=seed, targets=targets)):
            continue
        verdicts = check.run(_context(views, check, idx, out, read, texts, cfg, refs, scores,
                                      seed, targets))
        if verdicts.protect is not None:
            protected.loc[verdicts.protect.index[verdicts.protect.fillna(False)]] = True
        if verdicts.reason.notna().any() or verdicts.columns:
            views.clear()  # the old cut goes before the next is made (~0.5 GB at 1M)
        if _apply(out, scores, verdicts):
            texts.forget()
    return out, scores


def judge_frame(records: pd.DataFrame, checks: tuple[Check, ...], cfg: CurationConfig,
                refs: References, seed: int) -> pd.DataFrame:
    """`checks` over `records` (fresh, all kept) in one pass, as `curate` runs them; the
    frame with its verdicts (a check's own use: `turns` judges the later turns this way)."""
    scores = pd.Series([{} for _ in range(len(records))], index=records.index, dtype=object)
    return _judge(records.copy(), scores, checks, cfg, refs, seed, None)[0]


def _context(views: dict[str, tuple[pd.Index, pd.DataFrame, Texts]], check: Check,
             idx: pd.Index, out: pd.DataFrame, read: list[str], texts: Texts,
             cfg: CurationConfig, refs: References, scores: pd.Series, seed: int,
             targets: dict[str, int] | None) -> Context:
    """What `check` sees: the live rows `idx` and the columns `read` (no texts: `Texts`
    serves those), cut once per level while they stay the same (`views`)."""
    view = views.get(check.level)
    if view is None or not view[0].equals(idx):
        frame = out[read] if len(idx) == len(out) else out.loc[idx, read]  # all live: no copy
        view = views[check.level] = (idx, frame, texts.take(frame))
    return Context(frame=view[1], texts=view[2], cfg=cfg, refs=refs,
                   scores=scores if len(idx) == len(out) else scores.loc[idx], seed=seed,
                   targets=targets, answers=functools.partial(_answer_reasons, cfg=cfg,
                                                              refs=refs, seed=seed))


def _answer_reasons(frame: pd.DataFrame, *, cfg: CurationConfig, refs: References,
                    seed: int) -> pd.Series:
    """The drop reason the answer checks give each row of `frame` (fresh records): what
    the `turns` check judges each later turn of a conversation with."""
    return judge_frame(frame, ANSWER_CHECKS, cfg, refs, seed)["drop_reason"]
