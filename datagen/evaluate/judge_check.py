"""`datagen judge-check RUN_DIR`: the run's LLM-judge scores against a reviewer's keep/drop
verdicts, with the statistics of `agreement`.

The judge keeps a record when its score (`scores.judge`, the lowest criterion, 1-10) is at
least the run's `curation.judge.threshold`; the reviewer's verdict comes from the review round
trip's file (the run folder's merged `verdicts.jsonl`, or any file of that format). Only
records with both are compared; the others are counted with the reason they have no score.

Everything that makes the check meaningless is refused before anything is computed: no
verdicts, verdicts of another run, a run the judge never scored, fewer than `MIN_N` records
with both (the intervals would be as wide as the scale). The result is written to the run
folder (`judge_check.json`, and the current manifest's `judge_check` section).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datagen.checks.human import read_verdicts
from datagen.config import validated
from datagen.errors import ConfigError, DatagenError
from datagen.evaluate import agreement as stats
from datagen.files import read_json, read_parquet, write_json
from datagen.llm.judge import CRITERIA
from datagen.records import json_cell
from datagen.run.folder import RunFolder, is_run_folder

MIN_N = 10
SCALE = (1, 10)
RESULT = "judge_check.json"
WHY_UNSCORED = {
    "unanswered": "never answered (dropped before the respond stage), so never judged",
    "judge_error": "the judge's reply could not be read (judge_error), so no score",
    "not_judged": "answered but never judged (dropped by a check before the judge, or the run "
                  "stopped before judging it)",
}
RERUN = ("answers come from the run's cache (cache.sqlite): only the judge calls are new")


@dataclass
class Pairs:
    """The reviewed records of one run: judge score and human drop, side by side."""

    ids: list[str]
    scores: np.ndarray  # float, the judge's score
    human_drop: np.ndarray  # bool
    verdicts: int  # lines in the verdicts file (one per id)
    unscored: dict[str, int]  # reason -> verdicts on records without a judge score


def _config(folder: RunFolder) -> Any:
    data = folder.read_config()
    return validated({**data["config"], "out": str(folder.root)}, str(folder.config))


def _manifest(folder: RunFolder) -> dict[str, Any]:
    """The current generation's manifest, or {} when it cannot be read (only used to explain)."""
    try:
        data = read_json(folder.manifest, what="manifest")
    except DatagenError:
        return {}
    return data if isinstance(data, dict) else {}


def _no_scores(records: pd.DataFrame, cfg: Any, folder: RunFolder) -> ConfigError:
    """Why the run has no judge score, and how to get them."""
    errors = [json_cell(s).get("judge_error") for s in records["scores"].tolist()]
    errors = [e for e in errors if e]
    field = "curation.judge.enabled"
    if errors:
        return ConfigError(
            f"{folder.root}: the judge scored none of the run's records: {len(errors)} replies "
            f"could not be read (judge_error, e.g. {errors[0]!r})",
            hint="the judge must answer with the JSON verdict: run with a model that does "
                 "(llm.model, llm.base_url); a rerun with the same model reads the same replies "
                 "from the cache")
    enabled = cfg.curation.judge.enabled
    kind = (_manifest(folder).get("endpoint") or {}).get("kind")
    why = ("it is off in the run config" if enabled == "off" else
           "auto turns it off for the embedded model" if enabled == "auto" and
           kind in ("embedded", None) else "no record was answered and kept until the judge")
    return ConfigError(
        f"{folder.root}: the run has no judge scores ({field}: {enabled}; {why})",
        hint=f"set {field}: on with an endpoint that can judge (`llm.base_url`) in the run "
             f"config and rerun `datagen run` with it on the same --out; {RERUN}")


def threshold_of(folder: RunFolder, cfg: Any) -> float:
    """The threshold the current generation was curated with: the manifest's config (a
    `datagen curate --config` may have changed it since the run), else the run's config."""
    try:
        return float(_manifest(folder)["config"]["curation"]["judge"]["threshold"])
    except (KeyError, TypeError, ValueError):
        return float(cfg.curation.judge.threshold)


def reviewed_pairs(folder: RunFolder, verdicts_path: Path) -> tuple[Pairs, Any]:
    """The reviewed records with a judge score, and the run config; ConfigError naming the
    file and the fix when the check cannot be made."""
    if not is_run_folder(folder.root):
        raise ConfigError(f"{folder.root}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    cfg = _config(folder)
    records = read_parquet(folder.records, fix="the run did not finish exporting: rerun "
                                                "`datagen run` with the same arguments")
    cells = [json_cell(s) for s in records["scores"].tolist()]
    score = [sc.get("judge") for sc in cells]
    if not any(isinstance(v, int | float) for v in score):
        raise _no_scores(records, cfg, folder)
    if not verdicts_path.is_file():
        default = verdicts_path == folder.verdicts
        raise ConfigError(
            f"{verdicts_path}: no reviewer verdicts" + (" in the run folder" if default else ""),
            hint="review records in the run's report (`datagen report RUN_DIR --open`), "
                 "download the verdicts and merge them with `datagen curate RUN_DIR --verdicts "
                 "FILE`, or pass --verdicts FILE" if default else
                 "check the path: a verdicts file is the JSONL the report's viewer downloads")
    verdicts = read_verdicts(verdicts_path, records)  # refuses ids of another run
    if not verdicts:
        raise ConfigError(f"{verdicts_path}: holds no verdicts",
                          hint="mark records keep or drop in the report's viewer first")
    by_id = {str(i): k for k, i in enumerate(records["id"].astype(str))}
    response = records["response"].astype("string").str.strip().fillna("").tolist()
    ids, scores, drops = [], [], []
    unscored = dict.fromkeys(WHY_UNSCORED, 0)
    for rid, v in sorted(verdicts.items()):
        k = by_id[rid]
        s = score[k]
        if isinstance(s, int | float) and not isinstance(s, bool):
            ids.append(rid)
            scores.append(float(s))
            drops.append(v["verdict"] == "drop")
        elif not response[k]:
            unscored["unanswered"] += 1
        elif cells[k].get("judge_error"):
            unscored["judge_error"] += 1
        else:
            unscored["not_judged"] += 1
    pairs = Pairs(ids, np.asarray(scores, dtype=float), np.asarray(drops, dtype=bool),
                  len(verdicts), {k: v for k, v in unscored.items() if v})
    if len(ids) < MIN_N:
        without = sum(pairs.unscored.values())
        why = "; ".join(f"{n} {WHY_UNSCORED[k]}" for k, n in pairs.unscored.items())
        raise ConfigError(
            f"{verdicts_path}: {len(ids)} of its {len(verdicts)} verdicts are on records the "
            f"judge scored; at least {MIN_N} are needed for a check worth reading"
            + (f" ({without} without a score: {why})" if without else ""),
            hint=f"review at least {MIN_N - len(ids)} more records the judge scored (the "
                 "report's viewer shows the judge's score), then merge them with `datagen "
                 "curate RUN_DIR --verdicts FILE`")
    return pairs, cfg


def check(pairs: Pairs, threshold: float) -> dict[str, Any]:
    """Every statistic of the check, as JSON-ready data."""
    judge_drop = pairs.scores < threshold
    c = stats.confusion(judge_drop, pairs.human_drop)
    scan = stats.threshold_scan(pairs.scores, pairs.human_drop,
                                list(range(SCALE[0], SCALE[1] + 1)))
    best = stats.best_threshold(scan, threshold)
    best_drop = pairs.scores < best["threshold"]
    best_c = stats.confusion(best_drop, pairs.human_drop)
    kappa = stats.kappa(judge_drop, pairs.human_drop).as_json()
    return {
        "n": c.n, "verdicts": pairs.verdicts,
        "without_score": {k: {"verdicts": n, "why": WHY_UNSCORED[k]}
                          for k, n in pairs.unscored.items()},
        "score": f"scores.judge: the lowest of {', '.join(CRITERIA)}, "
                 f"{SCALE[0]}-{SCALE[1]}",
        "threshold": threshold, "judge_keeps": "score >= threshold", "positive": "drop",
        "confusion": {"both_drop": c.both_drop, "judge_drop_human_keep": c.judge_drop_human_keep,
                      "judge_keep_human_drop": c.judge_keep_human_drop,
                      "both_keep": c.both_keep},
        "human_drops": int(pairs.human_drop.sum()), "judge_drops": int(judge_drop.sum()),
        "agreement": stats.agreement(c).as_json(),
        "kappa": kappa,
        "kappa_reading": stats.kappa_band(kappa["value"]),
        "drop_precision": stats.drop_precision(c).as_json(),
        "drop_recall": stats.drop_recall(c).as_json(),
        "best_threshold": {
            "threshold": best["threshold"],
            "agreement": stats.agreement(best_c).as_json(),
            "kappa": stats.kappa(best_drop, pairs.human_drop).as_json(),
            "note": "chosen on this same data (highest agreement, then kappa), so its numbers "
                    "are optimistic: confirm it on records reviewed afterwards",
        },
        "thresholds": scan,
        "score_counts": {f"{k:g}": int(v) for k, v in zip(
            *np.unique(pairs.scores, return_counts=True), strict=True)},
        "warnings": warnings(pairs),
    }


def warnings(pairs: Pairs) -> list[str]:
    """What makes the numbers say less than they seem to."""
    out = []
    distinct = np.unique(pairs.scores)
    if len(distinct) == 1:
        out.append(f"the judge gave all {len(pairs.scores)} reviewed records the same score "
                   f"({distinct[0]:g}): these verdicts cannot show whether it tells good "
                   "answers from bad ones")
    drops = int(pairs.human_drop.sum())
    if drops in (0, len(pairs.human_drop)):
        out.append(f"the reviewer {'dropped' if drops else 'kept'} every reviewed record: "
                   "review some the other way to measure both kinds of error")
    return out


def judge_check(run_dir: str | Path, verdicts: str | Path | None = None) -> dict[str, Any]:
    """Check the run's judge against the verdicts and write the result into the run folder."""
    folder = RunFolder(run_dir)
    path = Path(verdicts) if verdicts is not None else folder.verdicts
    pairs, cfg = reviewed_pairs(folder, path)
    shown = path.name if path.resolve().parent == folder.root.resolve() else str(path)
    result = {"verdicts_file": shown,
              "generation_id": folder.generation(),
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "min_n": MIN_N, **check(pairs, threshold_of(folder, cfg))}
    write_json(folder.root / RESULT, result)
    if folder.manifest.is_file():  # the current generation's manifest, written through its link
        manifest = read_json(folder.manifest, what="manifest")
        manifest["judge_check"] = result
        write_json(folder.manifest, manifest)
    return result
