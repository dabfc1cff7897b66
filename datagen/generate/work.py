"""What a seed's next round asks for, and when a seed stops asking.

Derived from the records alone (like curation), so a rerun or a resume plans the very same
calls and the response cache answers them. A seed stops, for the first reason that applies:

    target_met     its kept pairs reached the target
    saturated      a round's new instructions were mostly duplicates (`saturation_share`)
                   and switching on more diversity did not help, or is not wanted
    attempt_limit  it made `call_limit` instruction-making calls
    parse_failed   its last `patience` rounds kept nothing, and most of their calls returned
                   nothing parseable (a model that cannot follow the list format)
    stalled        its last `patience` rounds kept nothing, for other reasons, and the rounds
                   since it last kept something made at least `STALL_MIN` instructions

The attempt limit, with `max_calls_per_seed: auto`, follows the target: twice the calls the
target needs at the seed's measured yield (kept instructions per instruction made; before
`YIELD_AFTER` instructions, the planned 1/overgenerate), never under `AUTO_MIN_CALLS`, and at
most what a yield of `MIN_YIELD` would need. Saturation, with `on_saturation: diversify`,
switches on topics, personas and evolve (those the seed lacks) for the remaining calls; a
seed still saturated after that stops. The run's `max_rounds` bounds the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.config import GenerationConfig
from datagen.generate.requests import example_text
from datagen.reasons import DUPLICATES as COPIES
from datagen.reasons import DropReason
from datagen.seeds import (
    EvolveStrategy,
    PersonasStrategy,
    PlainStrategy,
    SeedTask,
    Strategies,
    TopicsStrategy,
)

AUTO_SLACK = 2.0
AUTO_MIN_CALLS = 10
MIN_YIELD = 0.05
YIELD_AFTER = 20  # instructions made before the measured yield replaces the planned one
SATURATION_MIN = 20  # instructions a round must make before its duplicate share counts
# instructions the rounds that kept nothing must have made before they stop a seed as stalled:
# one small round of 3 duplicates is no evidence that a seed is spent (a sample, not rounds)
STALL_MIN = SATURATION_MIN
DUPLICATES = COPIES | {str(DropReason.PUBLISHED_DUPLICATE)}  # a copy, of anything
NOT_MADE = {str(DropReason.UNPARSEABLE), str(DropReason.LLM_ERROR)}  # a call's failure, not
# an instruction
DIVERSITY = {"topics": TopicsStrategy, "personas": PersonasStrategy, "evolve": EvolveStrategy}


@dataclass
class Call:
    """One instruction-making call: its sample index (part of the cache key) and strategy."""

    sample: int
    strategy: str
    parent: dict[str, Any] | None = None  # evolve: {"id", "text", "depth"}
    operator: str | None = None


@dataclass
class ExpandWork:
    """A seed's calls for one round, with what the strategies need to know of the records."""

    calls: list[Call]
    pool: list[str] = field(default_factory=list)  # kept generated instructions, in order
    kept_by_topic: dict[str, int] = field(default_factory=dict)  # kept records per leaf path
    calls_before: dict[str, int] = field(default_factory=dict)  # per strategy, earlier rounds

    def __len__(self) -> int:
        return len(self.calls)

    @classmethod
    def plain(cls, samples: range) -> ExpandWork:
        return cls([Call(s, "plain") for s in samples])


def _meta(records: pd.DataFrame, seed_id: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    part = records[records["seed_id"] == seed_id] if not records.empty else records
    return part, [json.loads(m) if isinstance(m, str) else {} for m in part["metadata"].tolist()]


def calls_made(metas: list[dict[str, Any]]) -> set[int]:
    return {m["sample"] for m in metas if m.get("stage") == "expand" and "sample" in m}


def _evolve_parents(seed: SeedTask, part: pd.DataFrame, metas: list[dict[str, Any]],
                    strat: EvolveStrategy, k: int) -> list[tuple[dict[str, Any], str]]:
    """`k` (parent, operator) pairs: seed examples and kept instructions not yet evolved
    `rounds` times deep, least-used first, deepest first; the operator rotates per use."""
    used: dict[str, int] = {}
    for m in metas:
        if m.get("parent_id"):
            used[m["parent_id"]] = used.get(m["parent_id"], 0) + 1
    candidates = [{"id": f"example:{i}", "text": example_text(ex), "depth": 0}
                  for i, ex in enumerate(seed.examples)]
    keep = part["keep"].fillna(False).astype(bool).tolist()
    for alive, m, rid, text in zip(keep, metas, part["id"], part["instruction"], strict=True):
        depth = int(m.get("depth", 0))
        if alive and m.get("stage") == "expand" and depth < strat.rounds:
            candidates.append({"id": str(rid), "text": str(text), "depth": depth})
    if not candidates or k <= 0:
        return []
    order = sorted(range(len(candidates)),
                   key=lambda i: (used.get(candidates[i]["id"], 0), -candidates[i]["depth"], i))
    out = []
    for j in range(k):
        parent = candidates[order[j % len(order)]]
        uses = used.get(parent["id"], 0) + j // len(order)
        op = strat.operators[(sum(map(ord, parent["id"])) + uses) % len(strat.operators)]
        out.append((parent, op))
    return out


def gen_for(seed: SeedTask, gen: GenerationConfig) -> GenerationConfig:
    """The generation settings a seed's calls use: a grounded seed asks `sources.per_unit`
    instructions per call, so that its calls spread over more of its chunks or rows."""
    if seed.sources is None or seed.sources.per_unit == gen.instructions_per_call:
        return gen
    return gen.model_copy(update={"instructions_per_call": seed.sources.per_unit})


def plan_expansion(seed: SeedTask, records: pd.DataFrame, missing: int,
                   gen: GenerationConfig) -> ExpandWork:
    """Split the instructions a round wants (missing x overgenerate) over the seed's strategies
    by weight, interleaved so that the attempt limit cuts every strategy alike."""
    gen = gen_for(seed, gen)
    part, metas = _meta(records, seed.id)
    done = calls_made(metas)
    start = max(done) + 1 if done else 0
    target = missing + _have(part)
    allowed = max(0, call_limit(gen, target, part, metas) - len(done))
    wanted = max(1, math.ceil(missing * gen.overgenerate))
    strategies = seed.strategies.enabled()
    total = sum(s.weight for s in strategies.values())
    queues: list[list[Call]] = []
    for name, strat in strategies.items():
        share = math.ceil(wanted * strat.weight / total)
        if name == "evolve":
            assert isinstance(strat, EvolveStrategy)
            pairs = _evolve_parents(seed, part, metas, strat, share)
            queues.append([Call(-1, name, parent=p, operator=op) for p, op in pairs])
        else:
            queues.append([Call(-1, name) for _ in range(math.ceil(share /
                                                                   gen.instructions_per_call))])
    calls = [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
    calls = calls[:allowed]
    for offset, call in enumerate(calls):
        call.sample = start + offset
    keep = part["keep"].fillna(False).astype(bool).tolist()
    pool = [str(t) for alive, m, t in zip(keep, metas, part["instruction"], strict=True)
            if alive and m.get("stage") == "expand"]
    by_topic: dict[str, int] = {}
    for alive, m in zip(keep, metas, strict=True):
        if alive and m.get("topic_path"):
            by_topic[m["topic_path"]] = by_topic.get(m["topic_path"], 0) + 1
    before: dict[str, dict[int, None]] = {}
    for m in metas:
        if m.get("stage") == "expand" and "sample" in m:
            before.setdefault(m.get("strategy", "plain"), {})[m["sample"]] = None
    return ExpandWork(calls, pool, by_topic, {k: len(v) for k, v in before.items()})


def _alive(part: pd.DataFrame) -> pd.Series:
    """Kept so far, surplus included (surplus is marked only after the last round), and an
    instruction whose own preference candidate won (`won_by_candidate`)."""
    if part.empty:
        return pd.Series(dtype=bool)
    surplus = (part["drop_reason"] == str(DropReason.SURPLUS)).fillna(False).astype(bool)
    return part["keep"].fillna(False).astype(bool) | surplus | won_by_candidate(part)


def won_by_candidate(part: pd.DataFrame) -> pd.Series:
    """Records that lost to one of their own preference candidates (a sibling answer of the
    same instruction, `generate.candidates`): the instruction lives on in the winner, so it
    is no duplicate and no loss to the seed's yield."""
    if part.empty or not part["metadata"].fillna("").str.contains('"candidate_of"').any():
        return pd.Series(False, index=part.index, dtype=bool)
    parent = {str(i): json.loads(m).get("candidate_of")
              for i, m in zip(part["id"], part["metadata"].fillna("{}"), strict=True)
              if '"candidate_of"' in m}
    lost = part["lost_to"].astype("string").fillna("").tolist()
    return pd.Series([parent.get(t) == str(i) for t, i in zip(lost, part["id"], strict=True)],
                     index=part.index, dtype=bool)


def _have(part: pd.DataFrame) -> int:
    if part.empty:
        return 0
    return int((part["keep"].fillna(False).astype(bool) & part["response"].notna()).sum())


def _made(part: pd.DataFrame, metas: list[dict[str, Any]]) -> list[bool]:
    """Which records are instructions an expansion call made (not a failed call's record)."""
    if part.empty:
        return []
    reasons = part["drop_reason"].astype("string").fillna("").tolist()
    return [m.get("stage") == "expand" and r not in NOT_MADE
            for m, r in zip(metas, reasons, strict=True)]


def measured_yield(part: pd.DataFrame, metas: list[dict[str, Any]]) -> float | None:
    """Kept instructions per instruction made; None before `YIELD_AFTER` were made."""
    made = _made(part, metas)
    n = sum(made)
    if n < YIELD_AFTER:
        return None
    return float(_alive(part)[made].sum()) / n


def call_limit(gen: GenerationConfig, target: int, part: pd.DataFrame | None = None,
               metas: list[dict[str, Any]] | None = None, *,
               assume_yield: float | None = None) -> int:
    """The seed's attempt limit (see the module docstring); `assume_yield` replaces the
    measured one (`MIN_YIELD` gives the most the limit can grow to)."""
    if gen.max_calls_per_seed != "auto":
        return int(gen.max_calls_per_seed)
    measured = measured_yield(part, metas) if part is not None and metas is not None else None
    if assume_yield is not None:
        measured = assume_yield
    rate = max(MIN_YIELD, measured if measured is not None else 1 / gen.overgenerate)
    return max(AUTO_MIN_CALLS, math.ceil(AUTO_SLACK * target / (rate * gen.instructions_per_call)))


def round_stats(part: pd.DataFrame, metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per round: instructions made, duplicates among them, kept, the duplicate share, and
    why the others were dropped (`dropped`: reason -> count), so a stop can say what it saw."""
    alive = _alive(part).tolist()
    reasons = part["drop_reason"].astype("string").fillna("").tolist() if not part.empty else []
    rows: dict[int, dict[str, Any]] = {}
    for ok, reason, m, made in zip(alive, reasons, metas, _made(part, metas), strict=True):
        if m.get("stage") != "expand":
            continue
        row = rows.setdefault(int(m.get("round", 0)),
                              {"made": 0, "duplicates": 0, "kept": 0, "dropped": {}})
        if not made:  # a failed call's record: the round ran, and made nothing
            continue
        row["made"] += 1
        row["duplicates"] += reason in DUPLICATES and not ok
        row["kept"] += bool(ok)
        if not ok and reason:
            row["dropped"][reason] = row["dropped"].get(reason, 0) + 1
    return [{"round": r, **row,
             "duplicate_share": round(row["duplicates"] / row["made"], 4) if row["made"] else 0.0}
            for r, row in sorted(rows.items())]


def saturated_rounds(stats: list[dict[str, Any]], gen: GenerationConfig) -> list[int]:
    return [r["round"] for r in stats
            if r["made"] >= SATURATION_MIN and r["duplicate_share"] >= gen.saturation_share]


def diversified(strategies: Strategies) -> Strategies | None:
    """The seed's strategies with topics, personas and evolve switched on; None when it has
    them all already (nothing left to switch on)."""
    on = dict(strategies.enabled())
    missing = [name for name in DIVERSITY if name not in on]
    if not missing:
        return None
    if not strategies.enabled() or set(on) == {"plain"}:
        on["plain"] = on.get("plain") or PlainStrategy()
    return Strategies(**on, **{name: DIVERSITY[name]() for name in missing})


def more_diverse(seed: SeedTask) -> Strategies | None:
    """What diversifying would switch on; nothing for a grounded seed, whose variety comes
    from its chunks or rows."""
    return None if seed.sources is not None else diversified(seed.strategies)


def effective_seed(seed: SeedTask, records: pd.DataFrame, gen: GenerationConfig) -> SeedTask:
    """The seed as its next round uses it: diversified once it saturated, when asked to."""
    if gen.on_saturation != "diversify":
        return seed
    part, metas = _meta(records, seed.id)
    if not saturated_rounds(round_stats(part, metas), gen):
        return seed
    more = more_diverse(seed)
    return seed.model_copy(update={"strategies": more}) if more else seed


def _stop(gen: GenerationConfig, seed: SeedTask, part: pd.DataFrame,
          metas: list[dict[str, Any]], missing: int, calls: int, limit: int) -> str | None:
    if missing == 0:
        return "target_met"
    saturated = saturated_rounds(round_stats(part, metas), gen)
    if saturated and gen.on_saturation == "stop":
        return "saturated"
    if saturated and gen.on_saturation == "diversify" and (
            more_diverse(seed) is None or max(saturated) > min(saturated)):
        return "saturated"  # nothing to switch on, or still saturated after the switch
    if calls >= limit:
        return "attempt_limit"
    # A weak model has unlucky rounds: stop only after `patience` rounds in a row that kept
    # nothing, and (for a stall) once those rounds made a sample of `STALL_MIN` instructions.
    idle = idle_rounds(round_stats(part, metas))
    if len(idle) < gen.patience:
        return None
    last = {r["round"] for r in idle[:gen.patience]}
    reasons = part["drop_reason"].astype("string").fillna("").tolist()
    calls_in = {m.get("sample") for m in metas
                if m.get("stage") == "expand" and m.get("round", 0) in last}
    failed = {m.get("sample") for m, r in zip(metas, reasons, strict=True)
              if m.get("stage") == "expand" and m.get("round", 0) in last
              and r == str(DropReason.UNPARSEABLE)}
    if calls_in and len(failed) / len(calls_in) >= 0.5:
        return "parse_failed"
    return "stalled" if sum(r["made"] for r in idle) >= STALL_MIN else None


def idle_rounds(stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rounds since the seed last kept an instruction, the latest first."""
    out = []
    for r in reversed(stats):
        if r["kept"]:
            break
        out.append(r)
    return out


def seed_state(seed: SeedTask, records: pd.DataFrame, target: int,
               gen: GenerationConfig) -> dict[str, Any]:
    """Kept pairs, pairs still missing, calls made and allowed, the rounds' duplicate shares,
    and why the seed stops (None: go on)."""
    gen = gen_for(seed, gen)
    part, metas = _meta(records, seed.id)
    have = _have(part)
    missing = max(0, target - have)
    calls = len(calls_made(metas))
    limit = call_limit(gen, target, part, metas)
    stats = round_stats(part, metas)
    saturated = saturated_rounds(stats, gen)
    return {"target": target, "kept": have, "missing": missing, "calls": calls,
            "call_limit": limit, "rounds": len(stats), "by_round": stats,
            "saturated_in": saturated,
            "diversified": bool(saturated) and gen.on_saturation == "diversify"
            and more_diverse(seed) is not None,
            "stop": _stop(gen, seed, part, metas, missing, calls, limit)}
