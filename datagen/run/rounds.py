"""The generation rounds: expand, answer, judge and curate until every seed has its pairs.

A round asks each seed still short of its target for new instructions (after answering the
instructions already kept but unanswered: their expansion is paid for), curates them, answers
the kept ones up to what is missing (with a margin), judges the answers when the judge is on,
and curates again. A seed stops when its target is met, it saturated, it reached its attempt
limit, or its last `patience` rounds kept nothing (`datagen.generate.work`); `max_rounds`
bounds the rest. A saturated seed may go on with more diversity strategies switched on.
Everything is derived from the records, so a resume plans the same calls and the response cache
answers them. The records so far are saved after every round (`records.partial.parquet`): a
crash loses nothing that was made. When the budget refused a call, generation stops after that
stage and the run goes on to curate and export what it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.curate.judge import judge_enabled, to_judge
from datagen.files import write_parquet
from datagen.generate import plan_expansion, seed_state
from datagen.generate.work import effective_seed
from datagen.llm.endpoint import Endpoint
from datagen.llm.usage import Usage
from datagen.progress import RunProgress
from datagen.records import COLUMNS, new_records
from datagen.run.fanout import Fanout
from datagen.run.plan import RunPlan

RESPOND_BATCH = 200
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
    out = records.copy()
    for part in updated:
        # Column by column: pandas 3.1 raises KeyError when a whole frame is assigned and a
        # nullable-int column of a batch not starting at row 0 holds NA (a failed call).
        for col in part.columns:
            out.loc[part.index, col] = part[col]
    return out.astype(COLUMNS)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return new_records([])
    return pd.concat(frames, ignore_index=True).astype(COLUMNS)


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

    def __init__(self, plan: RunPlan, fanout: Fanout, endpoint: Endpoint,
                 published: pd.DataFrame | None) -> None:
        self.plan, self.fanout, self.endpoint, self.published = plan, fanout, endpoint, published
        self.out = Generated(new_records([]))
        self.judge = judge_enabled(plan.config.curation.judge, endpoint.kind)

    def account(self, results: list[tuple[pd.DataFrame, dict[str, Any]]], what: str) -> None:
        stage = {"expanded": "expand", "responded": "respond", "judged": "judge"}[what]
        for df, usage in results:
            self.out.usage = add_usage(self.out.usage, usage)
            self.out.by_stage[stage] = add_usage(self.out.by_stage.get(stage, {}), usage)
            self.out.budget_refused += refused(usage)
            n = int(df["response"].notna().sum()) if what == "responded" else len(df)
            self.out.counts[what] = self.out.counts.get(what, 0) + n

    async def curate(self, records: pd.DataFrame) -> pd.DataFrame:
        records = await self.fanout.call("curate", self.plan, records, self.published, False)
        self.out.records = records
        write_parquet(self.plan.folder.partial, records)
        return records

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
        calls = [(plan, seeds[sid], self.endpoint,
                  plan_expansion(seeds[sid], records, n, plan.config.generation), round_no)
                 for sid, n in grow.items()]
        calls = [c for c in calls if len(c[3])]
        expanded = await self.fanout.map("expand", calls) if calls else []
        self.account(expanded, "expanded")
        records = await self.curate(concat([records, *(d for d, _ in expanded)]))
        if self.out.budget_refused:
            return False
        batches = to_answer(records, missing, margin)
        answered = await self.fanout.map("respond", [(plan, b, self.endpoint) for b in batches])
        self.account(answered, "responded")
        records = merge(records, [d for d, _ in answered])
        if self.judge and not self.out.budget_refused:
            records = await self.curate(records)  # judge only what survived the heuristics
            todo = records.loc[to_judge(records)]
            parts = [todo.iloc[i:i + JUDGE_BATCH].copy() for i in range(0, len(todo), JUDGE_BATCH)]
            judged = await self.fanout.map("judge", [(plan, p, self.endpoint) for p in parts])
            self.account(judged, "judged")
            records = merge(records, [d for d, _ in judged])
        await self.curate(records)
        return not self.out.budget_refused


async def generate(plan: RunPlan, fanout: Fanout, endpoint: Endpoint,
                   published: pd.DataFrame | None = None) -> Generated:
    """Run the rounds. A rerun asks the very same calls, which the response cache answers."""
    state = _Round(plan, fanout, endpoint, published)
    shown = RunProgress(sum(plan.targets.values()))
    try:
        for round_no in range(plan.config.generation.max_rounds):
            going = await state.one(round_no)
            # done: pairs kept, and what a seed that stopped will not ask for any more
            left = sum(missing_pairs(plan, state.out.records).values())
            shown.update(sum(plan.targets.values()) - left, round_no,
                         float(state.out.usage.get("cost_usd", 0.0)))
            if not going:
                break
    finally:
        shown.close()
    return state.out
