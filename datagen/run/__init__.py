"""The one orchestrator: plan -> rounds (expand, respond, judge, curate) -> final curation ->
split -> export -> publish -> push, for the CLI, the library and the Prefect flow alike.

The pipeline reads here and in `rounds.py`: each step is a stage function of `stages.py`
handed to the fan-out with its typed arguments (`fanout.call(split_stage, plan, records,
published)`), so a type checker sees every stage's inputs, and the fan-out (local, or Prefect
in `flows/`) only decides where the call runs.

    run(config, fanout) -> RunResult      a whole run; `fanout` says where stages execute
    recurate(run_dir, curation)           new verdicts, split and exports, no LLM call
    recurate(run_dir, judge=config)       the same after a re-judge: judge calls only

    folder.py    the run folder: marker, lock, generations        plan.py    RunPlan
    stages.py    the stage functions a fan-out runs                fanout.py  LocalFanout
    rounds.py    the generation rounds                             result.py  outcomes
    manifest.py  the manifest and one generation of exports        reaper.py  no orphans

Use from Python (no Prefect, no server):

    import asyncio
    from datagen.config import RunConfig
    from datagen.run import run
    result = asyncio.run(run(RunConfig(seeds=["seeds/legal/nda_clauses.yaml"], pairs=8,
                                       out="outputs/nda")))
    print(result.outcome().name, result.counts["kept"])
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.checks.human import read_verdicts, write_verdicts
from datagen.config import CurationConfig, RunConfig
from datagen.errors import ConfigError
from datagen.export import append
from datagen.export.hub import check_repo_id
from datagen.files import locked, read_parquet
from datagen.llm.judge import clear_judge_scores, to_judge
from datagen.llm.roles import describe, open_roles
from datagen.llm.usage import Usage
from datagen.records import COLUMNS, kept
from datagen.run import rounds
from datagen.run.fanout import Fanout, LocalFanout
from datagen.run.folder import RunFolder, check_out
from datagen.run.plan import RunPlan, plan_from_folder, plan_run
from datagen.run.result import Outcome, RunResult, error_samples, judge_counts, llm_errors
from datagen.run.stages import (
    check_each_stage,
    curate_stage,
    export_stage,
    judge_stage,
    publish_stage,
    push_stage,
    split_stage,
)

__all__ = ["Outcome", "RunPlan", "RunResult", "recurate", "run"]


async def run(config: RunConfig, fanout: Fanout | None = None, *,
              command: str = "run") -> RunResult:
    """A whole run into `config.out`, holding its lock; see the module docstring."""
    fanout = fanout or LocalFanout()
    out = check_out(config.out)
    config = config.model_copy(update={"out": str(out)})
    if config.append_to:
        config = config.model_copy(update={"append_to": str(append.check_target(
            config.append_to, out))})
    if config.export.push_to:
        check_repo_id(config.export.push_to, what="export.push_to")
    config = append.prepare(config)
    with locked(out, command):
        plan = plan_run(config)
        published = append.Published(config.append_to).records() if config.append_to else None
        timings: dict[str, float] = {}
        started = time.perf_counter()
        with open_roles(config) as endpoints:
            timings["endpoint"] = round(time.perf_counter() - started, 3)
            t = time.perf_counter()
            made = await rounds.generate(plan, fanout, endpoints, published)
            timings["generate"] = round(time.perf_counter() - t, 3)
            public = endpoints["respond"].public
        usage = {**made.usage_with_stages(), "roles": describe(endpoints)}
        return await finish(plan, fanout, made.records, published, public, usage,
                            timings, {**made.counts}, budget_refused=made.budget_refused)


async def finish(plan: RunPlan, fanout: Fanout, records: pd.DataFrame,
                 published: pd.DataFrame | None, endpoint: dict[str, str],
                 usage: dict[str, Any], timings: dict[str, float], counts: dict[str, Any], *,
                 budget_refused: int = 0, push: bool = True) -> RunResult:
    """Final curation, split, export, publish and push; the result."""
    config = plan.config
    t = time.perf_counter()
    records = await fanout.call(curate_stage, plan, records, published, final=True)
    timings["curate"] = round(time.perf_counter() - t, 3)
    counts["kept"] = len(kept(records[["keep"]]))
    t = time.perf_counter()
    labels, split_info = await fanout.call(split_stage, plan, records, published)
    timings["split"] = round(time.perf_counter() - t, 3)
    manifest = await fanout.call(export_stage, plan, records, labels, split_info,
                                 endpoint=endpoint, usage=usage, timings=timings, counts=counts)
    result = RunResult(out=config.out, run_id=plan.run_id, manifest=manifest,
                       budget_refused=budget_refused, budget_cap=config.llm.max_cost_usd,
                       errors=llm_errors(records), error_sample=error_samples(records),
                       judge=judge_counts(records))
    if config.append_to:
        result.published = await fanout.call(publish_stage, plan, records, labels)
    failed = result.outcome(max_failed_share=config.llm.max_failed_share,
                            allow_empty=True, allow_short=True).name == "llm_failed"
    if push and config.export.push_to and counts["kept"] and not failed:
        result.hub_url = await fanout.call(push_stage, config.out, config.export.push_to,
                                           private=config.export.push_private,
                                           append_to=config.append_to)
    return result


async def recurate(run_dir: str | Path, curation: CurationConfig | None = None,
                   fanout: Fanout | None = None, *,
                   verdicts: str | Path | None = None,
                   judge: RunConfig | None = None) -> RunResult:
    """Recompute the verdicts, split and exports of a finished run with a new `curation`
    section (thresholds, checks, eval sets), without a single LLM call: every record it paid
    for is in `records.parquet`, judge scores included. `verdicts` (a reviewer's file) is
    checked against the records and merged into the run folder's first. `judge`: the run's
    config with another judge role (`models:`/`roles.judge`): every answered pair is judged
    again by it, the only calls made (`rejudge`). A new generation is written."""
    folder = RunFolder(check_out(run_dir, flag="RUN_DIR"))
    with locked(folder.root, "curate"):
        plan = plan_from_folder(folder)
        if judge is not None:
            plan.config = plan.config.model_copy(update={"models": judge.models,
                                                         "roles": judge.roles})
        if curation is not None:
            plan.config = plan.config.model_copy(update={"curation": curation})
        if plan.config.append_to:
            raise ConfigError("this run appended to a published dataset",
                              hint="re-curate the published dataset's own run instead")
        fix = "the run did not finish exporting: rerun `datagen run` with the same arguments"
        records = read_parquet(folder.records, fix=fix)
        missing = [c for c in COLUMNS if c not in records.columns]
        if missing:
            raise ConfigError(f"{folder.records}: not datagen records (no {missing[:3]})",
                              hint=fix)
        if verdicts is not None:
            merge_verdicts(folder, verdicts, records)
        old = append.read_manifest(folder.manifest)
        fanout = fanout or LocalFanout()
        records = records[list(COLUMNS)].astype(COLUMNS)
        usage, timings = old.get("llm", {}), {**old.get("timings_s", {})}
        if judge is not None:
            records, usage = await rejudge(plan, fanout, records, usage, timings)
        return await finish(plan, fanout, records, None, old.get("endpoint", {}), usage,
                            timings, old.get("counts", {}).get("by_stage", {}), push=False)


async def rejudge(plan: RunPlan, fanout: Fanout, records: pd.DataFrame,
                  usage: dict[str, Any], timings: dict[str, float]
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every answered pair the record-local checks keep, judged again by the plan's judge
    role (the old judge's scores cleared first); no other role is opened or called. The
    usage of the run, with this judge's calls as its `judge` role."""
    t = time.perf_counter()
    records = clear_judge_scores(records)
    with open_roles(plan.config, roles=("judge",)) as endpoints:
        checked = await fanout.call(check_each_stage, plan, records, rescore=False)
        todo = checked.loc[to_judge(checked)]
        parts = [todo.iloc[i:i + rounds.JUDGE_BATCH].copy()
                 for i in range(0, len(todo), rounds.JUDGE_BATCH)]
        judged = await fanout.map([partial(judge_stage, plan, p, endpoints["judge"])
                                   for p in parts])
        roles = {**usage.get("roles", {}), **describe(endpoints)}
    spent: dict[str, Any] = {}
    for _, part in judged:
        spent = rounds.add_usage(spent, part)
    total = rounds.add_usage(usage, spent) if spent else dict(usage)
    total = {**total, "roles": roles,
             "by_stage": {**usage.get("by_stage", {}), "judge": spent or Usage().as_dict()}}
    timings["rejudge"] = round(time.perf_counter() - t, 3)
    return rounds.merge(records, [d for d, _ in judged]), total


def merge_verdicts(folder: RunFolder, path: str | Path, records: pd.DataFrame) -> None:
    """Add a reviewer's verdicts to the run folder's (a later verdict on an id wins)."""
    new = read_verdicts(path, records)
    old = read_verdicts(folder.verdicts) if folder.verdicts.is_file() else {}
    write_verdicts(folder.verdicts, {**old, **new})


def rewrite_report(run_dir: str | Path) -> Path:
    """Write `report.html` of a finished run again (into its current generation), from its
    records, manifest and config; no LLM call, no new generation."""
    from datagen.export.folder import split_frames, split_tokens
    from datagen.report import write_report

    folder = RunFolder(check_out(run_dir, flag="RUN_DIR"))
    with locked(folder.root, "report"):
        plan = plan_from_folder(folder)
        records = read_parquet(folder.records, fix="the run did not finish exporting: rerun "
                                                     "`datagen run` with the same arguments")
        manifest = folder.read_manifest()
        labels = (records["split"] if "split" in records else
                  pd.Series(pd.NA, index=records.index, dtype="string")).dropna()
        tokens = split_tokens(split_frames(records, labels), plan.config)
        return write_report(folder.current.resolve(), manifest, records, labels, *tokens,
                            sources={k: u.text for k, u in plan.sources.items()})
