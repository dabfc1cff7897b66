"""What a seed's next round asks for, and when a seed stops asking.

Derived from the records alone (like curation), so a rerun or a resume plans the very same
calls and the response cache answers them. A seed stops when its target is met, when its last
round kept nothing (a weak model returning duplicates or nothing parseable would otherwise be
asked forever), or when it reached its attempt limit; the flow's `max_rounds` bounds the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.config import GenerationConfig
from datagen.curate.reasons import DropReason
from datagen.generate.requests import example_text
from datagen.seeds import EvolveStrategy, SeedTask


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
    return part, [json.loads(m) if isinstance(m, str) else {} for m in part["metadata"]]


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


def plan_expansion(seed: SeedTask, records: pd.DataFrame, missing: int,
                   gen: GenerationConfig) -> ExpandWork:
    """Split the instructions a round wants (missing x overgenerate) over the seed's strategies
    by weight, interleaved so that the attempt limit cuts every strategy alike."""
    part, metas = _meta(records, seed.id)
    done = calls_made(metas)
    start = max(done) + 1 if done else 0
    allowed = max(0, gen.max_calls_per_seed - len(done))
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


def seed_state(seed: SeedTask, records: pd.DataFrame, target: int,
               gen: GenerationConfig) -> dict[str, Any]:
    """Kept pairs, pairs still missing, calls made, and why the seed stops (None: go on)."""
    part, metas = _meta(records, seed.id)
    live = part["keep"].fillna(False).astype(bool) if not part.empty else pd.Series(dtype=bool)
    have = int((live & part["response"].notna()).sum()) if not part.empty else 0
    missing = max(0, target - have)
    calls = len(calls_made(metas))
    rounds = [int(m.get("round", 0)) for m in metas if m.get("stage") == "expand"]
    stop = None
    if missing == 0:
        stop = "target_met"
    elif calls >= gen.max_calls_per_seed:
        stop = "attempt_limit"
    elif len(set(rounds)) >= gen.patience:
        # A weak model has unlucky rounds: stop only after `patience` rounds in a row that
        # kept nothing. Surplus is marked only after the last round: it is not "nothing kept".
        alive = (live | (part["drop_reason"] == str(DropReason.SURPLUS)).fillna(False)).tolist()
        kept_in = {r: 0 for r in sorted(set(rounds))[-gen.patience:]}
        for ok, m in zip(alive, metas, strict=True):
            if ok and m.get("stage") == "expand" and m.get("round", 0) in kept_in:
                kept_in[m.get("round", 0)] += 1
        if not any(kept_in.values()):
            stop = "stalled"
    return {"target": target, "kept": have, "missing": missing, "calls": calls,
            "rounds": len(set(rounds)), "stop": stop}
