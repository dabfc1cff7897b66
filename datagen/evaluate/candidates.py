"""What is compared, on what: the validation split's instructions, and the three ways of
answering them a user chooses between.

    (a) base       the base model, the instruction alone (no system prompt)
    (b) prompted   the base model with the seed's persona and few-shot examples
                   (prompt engineering: no training, a longer prompt on every call)
    (c) fine-tuned the OpenAI fine-tuned model, or the base with the local LoRA adapter,
                   asked as it was trained (the export's system message, then the request)
    (d) DPO        the OpenAI model a DPO job made from the run's preference pairs (when
                   `datagen finetune --method dpo` made one), asked as (c)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datagen.errors import ConfigError
from datagen.files import read_parquet
from datagen.finetune.source import NO_VALIDATION_FIX, TrainingData
from datagen.seeds.schema import SeedTask

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Item:
    """One validation pair: the instruction asked and the response kept as reference."""

    id: str
    seed_id: str
    instruction: str
    reference: str
    system: str


@dataclass
class Candidate:
    key: str  # "a" | "b" | "c" | "d"
    name: str
    approach: str  # prompting | fine-tuning (OpenAI) | adapter (LoRA)
    messages: Callable[[Item], Messages]
    examples_needed: str
    training: dict[str, Any] = field(default_factory=dict)  # cost, time of the training


def _kept(data: TrainingData, split: str) -> Any:
    records = read_parquet(data.folder.records)
    return records[(records["split"] == split) & records["keep"].astype(bool)].sort_values("id")


def train_pairs(data: TrainingData, per_seed: int) -> dict[str, list[tuple[str, str]]]:
    """Up to `per_seed` training pairs of each seed: few-shot examples for a seed whose own
    examples carry no response."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in _kept(data, "train").itertuples():
        shots = out.setdefault(str(r.seed_id), [])
        if len(shots) < per_seed:
            shots.append((str(r.instruction), str(r.response)))
    return out


def validation_items(data: TrainingData, limit: int | None = None) -> list[Item]:
    rows = _kept(data, "validation")
    if rows.empty:
        raise ConfigError(f"{data.folder.root}: the run has no validation split",
                          hint=NO_VALIDATION_FIX)
    items = [Item(id=str(r.id), seed_id=str(r.seed_id), instruction=str(r.instruction),
                  reference=str(r.response), system=str(r.system or ""))
             for r in rows.itertuples()]
    return items[:limit] if limit else items


def seed_tasks(data: TrainingData) -> dict[str, SeedTask]:
    raw = data.folder.read_config().get("seed_tasks", [])
    return {s["id"]: SeedTask.model_validate(s) for s in raw}


def plain(item: Item) -> Messages:
    return [{"role": "user", "content": item.instruction}]


def prompted(seeds: dict[str, SeedTask], shots: int,
             fallback: dict[str, list[tuple[str, str]]]) -> Callable[[Item], Messages]:
    """The seed's persona as the system message and `shots` examples as earlier turns: the
    seed's own examples that carry a response, then training pairs of that seed."""

    def build(item: Item) -> Messages:
        seed = seeds.get(item.seed_id)
        system = seed.system if seed else item.system
        out: Messages = [{"role": "system", "content": system}] if system else []
        pairs = [(e.instruction if not e.input else f"{e.instruction}\n\n{e.input}",
                  str(e.response)) for e in (seed.examples if seed else []) if e.response]
        for asked, answered in [*pairs, *fallback.get(item.seed_id, [])][:shots]:
            out += [{"role": "user", "content": asked},
                    {"role": "assistant", "content": answered}]
        return [*out, {"role": "user", "content": item.instruction}]

    return build


def as_trained(with_system: bool) -> Callable[[Item], Messages]:
    """The request as the training examples showed it (`export.system_message`)."""

    def build(item: Item) -> Messages:
        head = [{"role": "system", "content": item.system}] if with_system and item.system \
            else []
        return [*head, {"role": "user", "content": item.instruction}]

    return build
