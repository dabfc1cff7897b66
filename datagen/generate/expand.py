"""Expand a seed into instructions with its strategies (`plain`, `bootstrap`, `topics`,
`personas`, `evolve`), one call per planned `Call`.

Output that cannot be parsed, even after the repair step, is kept as a dropped record with its
reason, never discarded. Strategy verdicts (not novel, eliminated evolutions) are written into
`metadata.verdict` here and applied by curation (`work.apply_verdicts`).

Output columns: id, run_id, seed_id, domain, language, system, instruction, model, keep,
drop_reason, metadata (stage, strategy, prompt, sample, round, call, parse, repair, topic,
topic_path, persona, exemplars, operator, parent_id, depth, verdict, source: the chunk or
row of a grounded seed: id, kind, file, start, end, heading, row).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.config import GenerationConfig
from datagen.config.run import STRATEGY_ROLES
from datagen.errors import BudgetExceeded
from datagen.generate import evolve
from datagen.generate.ask import ask_list
from datagen.generate.personas import get_personas, save_personas
from datagen.generate.requests import (
    Request,
    bootstrap_request,
    evolve_request,
    example_text,
    grounded_request,
    personas_request,
    plain_request,
    topics_request,
)
from datagen.generate.topics import build_tree, leaves, order_leaves, save_tree
from datagen.generate.work import Call, ExpandWork, gen_for
from datagen.llm.client import LLMClient
from datagen.llm.wire import LLMCallError
from datagen.reasons import DropReason
from datagen.records import new_records, record_id
from datagen.seeds import SeedTask
from datagen.seeds.sources import Unit, unit_for
from datagen.similarity.pairs import near_pairs

MAX_INSTRUCTION_CHARS = 400
Progress = Callable[[int], None] | None
RoleClient = tuple[LLMClient, str]  # a role's client and its structured-output mode


def expand_calls_needed(missing_pairs: int, gen: GenerationConfig) -> int:
    return max(1, math.ceil(missing_pairs * gen.overgenerate / gen.instructions_per_call))


def expand_request(seed: SeedTask, gen: GenerationConfig, mode: str, sample: int,
                   rng_seed: int, units: list[Unit] | None = None) -> Request:
    """The messages, API params and provenance of plain expansion call number `sample` (about
    its chunk or row, for a grounded seed's `units`), as the run builds them."""
    work = ExpandWork.plain(range(sample, sample + 1))
    messages, params, meta = _Context(seed, work, units or []).request(
        work.calls[0], gen_for(seed, gen), mode, rng_seed)
    return messages, params, {"stage": "expand", "sample": sample, **meta}


class _Context:
    """What the calls of one seed's round share: leaves, personas, the novelty pool."""

    def __init__(self, seed: SeedTask, work: ExpandWork, units: list[Unit]) -> None:
        self.seed = seed
        self.work = work
        self.units = units
        self.leaves: list[dict[str, Any]] = []
        self.personas: list[str] = []
        self.topics_calls = [c.sample for c in work.calls if c.strategy == "topics"]
        self.persona_calls = [c.sample for c in work.calls if c.strategy == "personas"]

    async def prepare(self, roles: dict[str, RoleClient], gen: GenerationConfig,
                      folder: str | Path | None) -> None:
        strategies = self.seed.strategies.enabled()
        if self.topics_calls:
            strat = strategies["topics"]
            client, mode = roles["topics"]
            tree = await build_tree(self.seed, client, gen, strat, mode)  # type: ignore[arg-type]
            if folder is not None:
                save_tree(folder, self.seed, tree, strat)  # type: ignore[arg-type]
            self.leaves = order_leaves(leaves(tree), self.work.kept_by_topic)
        if self.persona_calls:
            strat = strategies["personas"]
            client, mode = roles["personas"]
            self.personas, info = await get_personas(self.seed, client, gen, strat,  # type: ignore[arg-type]
                                                     mode)
            if folder is not None:
                save_personas(folder, self.seed, self.personas, info)

    def request(self, call: Call, gen: GenerationConfig, mode: str, rng_seed: int) -> Request:
        seed, strat = self.seed, self.seed.strategies.enabled().get(call.strategy)
        if self.units:  # a grounded seed: every call is about one chunk or row
            unit = unit_for(self.units, call.sample)
            others = [unit_for(self.units, call.sample + k) for k in range(1, gen.few_shot + 1)]
            return grounded_request(seed, gen, strat, mode, call.sample, rng_seed, unit,
                                    [u for u in others if u.id != unit.id])
        if call.strategy == "bootstrap":
            return bootstrap_request(seed, gen, strat, mode, call.sample, rng_seed,
                                     self.work.pool)
        if call.strategy == "topics":
            leaf = self.leaves[self.topics_calls.index(call.sample) % len(self.leaves)]
            return topics_request(seed, gen, strat, mode, call.sample, rng_seed, leaf)
        if call.strategy == "personas":
            # continue the persona x topic crossing where earlier rounds stopped
            j = self.work.calls_before.get("personas", 0) + self.persona_calls.index(call.sample)
            persona = self.personas[j % len(self.personas)]
            topic = seed.topics[(j // len(self.personas)) % len(seed.topics)] if seed.topics \
                else None
            return personas_request(seed, gen, strat, mode, call.sample, rng_seed, persona,
                                    topic)
        if call.strategy == "evolve":
            assert call.parent is not None and call.operator is not None
            return evolve_request(seed, gen, strat, mode, call.parent["text"], call.operator)
        return plain_request(seed, gen, strat, mode, call.sample, rng_seed)


def mark_not_novel(rows: list[dict[str, Any]], references: list[str],
                   threshold: float) -> None:
    """Self-Instruct's novelty check with curation's near-dup scorer instead of ROUGE-L:
    a bootstrap instruction too close to the pool (seed examples, kept generations) or to an
    earlier one of this round gets the `not_novel` verdict."""
    idx = [i for i, r in enumerate(rows)
           if r["metadata"].get("strategy") == "bootstrap" and r["keep"]]
    if not idx:
        return
    texts = references + [rows[i]["instruction"] for i in idx]
    stale = {j - len(references) for _, j in near_pairs(texts, threshold)
             if j >= len(references)}
    for k in stale:
        rows[idx[k]]["metadata"]["verdict"] = str(DropReason.NOT_NOVEL)


async def expand(
    seed: SeedTask,
    client: LLMClient,
    gen: GenerationConfig,
    *,
    mode: str,
    samples: ExpandWork | range,
    run_id: str,
    rng_seed: int,
    round_no: int = 0,
    progress: Progress = None,
    folder: str | Path | None = None,
    units: list[Unit] | None = None,
    strategy_clients: dict[str, RoleClient] | None = None,
) -> pd.DataFrame:
    """Make new instructions with the planned calls (a plain `range` means plain calls).
    `folder` is the run folder, where topic trees and personas are saved; `units` are a
    grounded seed's chunks or rows, in call order (see `datagen.seeds.sources`).
    `strategy_clients` are the `topics`, `personas` and `evolve` roles' clients with their
    structured modes; a role not given calls `client`."""
    work = samples if isinstance(samples, ExpandWork) else ExpandWork.plain(samples)
    gen = gen_for(seed, gen)
    ctx = _Context(seed, work, units or [])
    roles = {role: (client, mode) for role in STRATEGY_ROLES} | (strategy_clients or {})
    roles["expand"] = (client, mode)
    await ctx.prepare(roles, gen, folder)
    base = {"run_id": run_id, "seed_id": seed.id, "domain": seed.domain,
            "language": seed.language, "system": seed.system, "model": client.endpoint.model}

    async def one(call: Call) -> list[dict[str, Any]]:
        # an evolve call is the evolve role's; every other instruction is expand's
        client, mode = roles["evolve"] if call.strategy == "evolve" else roles["expand"]
        messages, params, meta = ctx.request(call, gen, mode, rng_seed)
        row = {**base, "model": client.endpoint.model}
        meta = {"stage": "expand", "strategy": call.strategy, "sample": call.sample,
                "round": round_no, **meta}
        if call.parent is not None:
            meta.update(parent_id=call.parent["id"], depth=call.parent["depth"] + 1)
        single = call.strategy == "evolve"
        try:
            asked = await ask_list(client, messages, params, sample=call.sample, mode=mode,
                                   single=single)
        except BudgetExceeded:  # not asked: a rerun with a higher cap asks it
            return []
        except LLMCallError as exc:
            rid = record_id(seed.id, client.key(messages, params, call.sample), "error")
            return [{**row, "id": rid, "instruction": "", "keep": False,
                     "drop_reason": DropReason.LLM_ERROR,
                     "metadata": {**meta, "error": exc.reason}}]
        finally:
            if progress:
                progress(1)
        meta.update(asked.meta)
        if not asked.items:
            return [{**row, "id": record_id(seed.id, asked.done.key, "raw"),
                     "instruction": (asked.done.text or "")[:2000], "keep": False,
                     "drop_reason": DropReason.UNPARSEABLE, "metadata": meta}]
        items = asked.items[:1] if single else asked.items
        rows = []
        for j, item in enumerate(items):
            row_meta = {**meta, "index": j}
            if call.parent is not None:
                threshold = seed.strategies.evolve.unchanged_threshold  # type: ignore[union-attr]
                if (v := evolve.verdict(item, call.parent["text"], threshold)) is not None:
                    row_meta["verdict"] = v
            rows.append({**row, "id": record_id(seed.id, asked.done.key, j),
                         "instruction": item[:MAX_INSTRUCTION_CHARS], "keep": True,
                         "metadata": row_meta})
        return rows

    batches = await asyncio.gather(*(one(c) for c in work.calls))
    rows = [row for batch in batches for row in batch]
    boot = seed.strategies.bootstrap
    if boot is not None:
        refs = [example_text(ex) for ex in seed.examples] + work.pool
        mark_not_novel(rows, refs, boot.novelty_threshold)
    return new_records(rows)
