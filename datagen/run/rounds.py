"""The generation rounds: expand, answer, judge and curate until every seed has its pairs.

A round asks each seed still short of its target for new instructions (after answering the
instructions already kept but unanswered: their expansion is paid for), curates them, answers
the kept ones up to what is missing (with a margin), judges each batch of answers as soon as it
is in when the judge is on, and curates again. Curating mid-run checks only the records that
are new or changed with the record-local checks (`check_each_stage`), then runs the checks
that compare records over all (`compare_records_stage`): the verdicts `curate_stage` gives
from scratch, without checking every record again each round. A seed stops when its target
is met, it saturated, it reached its attempt limit, or its last `patience` rounds kept nothing
(`datagen.generate.work`); `max_rounds` bounds the rest. A saturated seed may go on with more
diversity strategies switched on.
Everything is derived from the records, so a resume plans the same calls and the response cache
answers them. The records so far are saved after every round (`records.partial.parquet`): a
crash loses nothing that was made. When the budget refused a call, generation stops after that
stage and the run goes on to curate and export what it has.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from datagen.checks.judge import judge_enabled
from datagen.config.run import STRATEGY_ROLES
from datagen.files import write_parquet
from datagen.generate import plan_expansion, seed_state
from datagen.generate.candidates import add_candidates
from datagen.generate.work import effective_seed
from datagen.llm.endpoint import Endpoint
from datagen.llm.judge import to_judge
from datagen.llm.transport import shared_connections
from datagen.llm.usage import Usage
from datagen.progress import RunProgress
from datagen.records import COLUMNS, has_score, kept, new_records
from datagen.run.fanout import Fanout
from datagen.run.plan import RunPlan
from datagen.run.stages import (
    check_each_stage,
    compare_records_stage,
    expand_stage,
    judge_stage,
    respond_stage,
)

# Answers per batch, each checked as one call: the record-local checks have a fixed cost per
# call whatever its size, so batches are large (bench/run_throughput.py).
RESPOND_BATCH = 1000
JUDGE_BATCH = 200


@dataclass
class Generated:
    """What the rounds made: every record, the LLM usage, and how generation ended."""

    records: pd.DataFrame
    usage: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    budget_refused: int = 0  # calls the budget cap refused (0: it never stopped us)
    by_stage: dict[str, dict[str, Any]] = field(default_factory=dict)  # usage per LLM stage

    def usage_with_stages(self) -> dict[str, Any]:
        """The run's LLM usage, with `by_stage` (expand, respond, judge) inside."""
        return {**self.usage, "by_stage": self.by_stage} if self.by_stage else dict(self.usage)


def missing_pairs(plan: RunPlan, records: pd.DataFrame) -> dict[str, int]:
    """Per seed: answered, kept pairs still wanted, or 0 once the seed stopped."""
    gen = plan.config.generation
    out = {}
    for s in plan.seeds:
        state = seed_state(s, records, plan.targets[s.id], gen)
        out[s.id] = 0 if state["stop"] else state["missing"]
    return out


def kept_pairs(plan: RunPlan, records: pd.DataFrame) -> int:
    """Answered pairs the verdicts keep (the judge's included), at most each seed's target:
    what the run line counts, so it never counts a pair the judge dropped, nor a seed that
    stopped short as done."""
    if records.empty:
        return 0
    done = kept(records)
    done = done[done["response"].notna()].groupby("seed_id").size()
    return int(sum(min(int(n), plan.targets.get(str(sid), 0)) for sid, n in done.items()))


def backlog(records: pd.DataFrame) -> dict[str, int]:
    """Per seed: kept instructions that have no response yet."""
    if records.empty:
        return {}
    todo = records["keep"].fillna(False).astype(bool) & records["response"].isna()
    return {str(k): int(v) for k, v in records[todo].groupby("seed_id").size().items()}


def to_answer(records: pd.DataFrame, missing: dict[str, int],
              margin: float = 1.25) -> list[pd.DataFrame]:
    """Kept, unanswered records, at most `missing * margin` per seed (the rest of the
    over-generated instructions wait, unpaid, for a later round), in batches."""
    todo = records[records["keep"].fillna(False).astype(bool) & records["response"].isna()]
    quota = todo["seed_id"].map(lambda s: math.ceil(missing.get(s, 0) * margin)).astype("int64")
    todo = todo[todo.groupby("seed_id").cumcount() < quota]
    return [todo.iloc[i:i + RESPOND_BATCH].copy() for i in range(0, len(todo), RESPOND_BATCH)]


def merge(records: pd.DataFrame, updated: list[pd.DataFrame]) -> pd.DataFrame:
    """`records` with the rows of `updated` (frames of some of its rows, with its columns; a
    later one wins) put in their place, in one concat rather than one assignment per column."""
    parts = [p[records.columns] for p in updated if not p.empty]
    if not parts:
        return records.astype(COLUMNS)  # a copy, as below
    combined = pd.concat([records, *parts])
    combined = combined[~combined.index.duplicated(keep="last")]
    return combined.loc[records.index].astype(COLUMNS)


def concat(frames: list[pd.DataFrame], keep: bool = False) -> pd.DataFrame:
    """The frames one after another, renumbered (or, `keep`, with their own index)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return new_records([])
    return pd.concat(frames, ignore_index=not keep).astype(COLUMNS)


def add_usage(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    out = dict(total) if total else Usage().as_dict()
    for k, v in part.items():
        if isinstance(v, int | float):
            out[k] = out.get(k, 0) + v
        elif isinstance(v, dict):
            merged = dict(out.get(k, {}))
            for kk, vv in v.items():
                merged[kk] = merged.get(kk, 0) + vv
            out[k] = merged
    return out


def refused(usage: dict[str, Any]) -> int:
    return int(usage.get("by_status", {}).get("budget_refused", 0))


class _Round:
    """The state one run's rounds share (kept on an object, not passed around as a dict)."""

    def __init__(self, plan: RunPlan, fanout: Fanout, endpoints: dict[str, Endpoint],
                 published: pd.DataFrame | None) -> None:
        self.plan, self.fanout, self.endpoints, self.published = (plan, fanout, endpoints,
                                                                  published)
        self.out = Generated(new_records([]))
        self.checked_each = new_records([])  # every record with its record-local verdicts
        # the judge role's model decides: the embedded model is never an automatic judge
        self.judge = judge_enabled(plan.config.curation.judge, endpoints["judge"].kind)
        self.scored: set[str] = set()  # ids of pairs the judge scored, and could not score
        self.unscored: set[str] = set()

    def account(self, results: list[tuple[pd.DataFrame, dict[str, Any]]], what: str) -> None:
        stage = {"expanded": "expand", "responded": "respond", "judged": "judge"}[what]
        for df, usage in results:
            # a stage that called a second role (respond's follow-up turns) says so apart
            parts = {stage: {k: v for k, v in usage.items() if k != "by_role"},
                     **usage.get("by_role", {})}
            for role, part in parts.items():
                self.out.usage = add_usage(self.out.usage, part)
                self.out.by_stage[role] = add_usage(self.out.by_stage.get(role, {}), part)
                self.out.budget_refused += refused(part)
            n = int(df["response"].notna().sum()) if what == "responded" else len(df)
            if what == "judged":  # pairs scored, not asked: a reply without a score is none
                scored = has_score(df, "judge")
                self.scored.update(df.loc[scored, "id"].astype(str))
                self.unscored.update(df.loc[~scored & has_score(df, "judge_error"), "id"]
                                     .astype(str))
                self.out.counts["judged"] = len(self.scored)
                self.out.counts["judge_unscored"] = len(self.unscored - self.scored)
                continue
            self.out.counts[what] = self.out.counts.get(what, 0) + n

    async def update_verdicts(self, records: pd.DataFrame, changed: pd.Index,
                              checked: pd.DataFrame | None = None) -> pd.DataFrame:
        """Verdicts for `records` after the rows `changed` got new content: those rows alone
        go through the record-local checks (unless `checked` holds them so), then the
        checks that compare records run over all (`curate_stage`'s verdicts, without
        checking every record again)."""
        ready = checked if checked is not None else new_records([])
        todo = changed.difference(ready.index)
        if len(todo):
            ready = pd.concat([ready, await self.fanout.call(check_each_stage, self.plan,
                                                             records.loc[todo])])
        kept = self.checked_each.drop(index=changed, errors="ignore")
        self.checked_each = (pd.concat([kept, ready.loc[changed]]).loc[records.index]
                             .astype(COLUMNS))
        records = await self.fanout.call(compare_records_stage, self.plan, self.checked_each,
                                         self.published)
        self.out.records = records
        write_parquet(self.plan.folder.partial, records)
        return records

    async def judged(self, todo: pd.DataFrame) -> list[pd.DataFrame]:
        """Judge scores for the kept, answered records of `todo`, in batches."""
        parts = [todo.iloc[i:i + JUDGE_BATCH].copy() for i in range(0, len(todo), JUDGE_BATCH)]
        judged = await self.fanout.map([partial(judge_stage, self.plan, p,
                                                self.endpoints["judge"]) for p in parts])
        self.account(judged, "judged")
        return [d for d, _ in judged]

    async def answer(self, batch: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One batch answered and checked and, with the judge on, the answers the
        record-local checks keep judged at once: each was kept, so no kept record is near
        it, and the checks that compare records keep it too. Returns the batch with its
        answers (and scores), and the same rows with their record-local verdicts."""
        result = await self.fanout.call(respond_stage, self.plan, batch,
                                        self.endpoints["respond"],
                                        follow=self.endpoints["follow_up"])
        self.account([result], "responded")
        answered = result[0]
        if answered.empty:
            return answered, answered
        checked = await self.fanout.call(check_each_stage, self.plan, answered, rescore=False)
        todo = checked.loc[to_judge(checked)]
        if not self.judge or self.out.budget_refused or not len(todo):
            return answered, checked
        judged = await self.judged(todo)
        rescored = await self.fanout.call(check_each_stage, self.plan, merge(checked, judged),
                                          rescore=True)
        return merge(answered, judged), rescored

    async def one(self, round_no: int) -> bool:
        """One round; False when no seed wants more (or the budget stopped us)."""
        plan, records = self.plan, self.out.records
        missing = missing_pairs(plan, records)
        wanted = {sid: n for sid, n in missing.items() if n > 0}
        if not wanted:
            return False
        self.out.counts["rounds"] = self.out.counts.get("rounds", 0) + 1
        margin = plan.config.generation.respond_margin
        waiting = backlog(records)
        grow = {sid: n for sid, n in wanted.items() if waiting.get(sid, 0) < math.ceil(n * margin)}
        gen = plan.config.generation
        seeds = {s.id: effective_seed(s, records, gen) for s in plan.seeds}  # diversified?
        helpers = {r: self.endpoints[r] for r in STRATEGY_ROLES if r in self.endpoints}
        work = {sid: plan_expansion(seeds[sid], records, n, plan.config.generation)
                for sid, n in grow.items()}
        calls = [partial(expand_stage, plan, seeds[sid], self.endpoints["expand"], todo,
                         round_no=round_no, strategies=helpers)
                 for sid, todo in work.items() if len(todo)]
        expanded = await self.fanout.map(calls) if calls else []
        self.account(expanded, "expanded")
        before = len(records)
        records = concat([records, *(d for d, _ in expanded)])
        records = await self.update_verdicts(records, records.index[before:])
        if self.out.budget_refused:
            return False
        batches = to_answer(records, missing, margin)
        if plan.config.preference is not None:  # several answers per instruction
            records, batches = add_candidates(records, batches, plan.config.preference,
                                              gen.respond_temperature)
        # each batch is judged as soon as it is answered, beside the batches still answering
        done = await asyncio.gather(*(self.answer(b) for b in batches))
        answered, checked = [a for a, _ in done], concat([s for _, s in done], keep=True)
        changed = pd.Index([i for d in answered for i in d.index])
        records = merge(records, answered)
        if self.judge and not self.out.budget_refused:
            # what the last verdicts keep unjudged (an earlier judge call failed, say)
            todo = self.out.records.drop(index=changed, errors="ignore")
            todo = todo.loc[to_judge(todo)]
            if len(todo):
                records = merge(records, await self.judged(todo))
                changed = changed.union(todo.index)
        await self.update_verdicts(records, changed, checked)
        return not self.out.budget_refused


async def generate(plan: RunPlan, fanout: Fanout, endpoints: dict[str, Endpoint],
                   published: pd.DataFrame | None = None) -> Generated:
    """Run the rounds, each role on its endpoint (`datagen.llm.roles.open_roles`). A rerun
    asks the very same calls, which the response cache answers."""
    state = _Round(plan, fanout, endpoints, published)
    shown = RunProgress(sum(plan.targets.values()))
    async with shared_connections():  # the stage calls' clients reuse connections
        try:
            return await _rounds(plan, state, shown)
        finally:
            shown.close()


async def _rounds(plan: RunPlan, state: _Round, shown: RunProgress) -> Generated:
    for round_no in range(plan.config.generation.max_rounds):
        going = await state.one(round_no)
        # the pairs kept now, after the judge: a seed that stopped short shows short
        shown.update(kept_pairs(plan, state.out.records), round_no,
                     float(state.out.usage.get("cost_usd", 0.0)),
                     {role: float(u.get("cost_usd", 0.0))
                      for role, u in state.out.by_stage.items()})
        if not going:
            break
    return state.out
