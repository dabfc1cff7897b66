"""What a run will do, decided before anything is paid for: the resolved config, its seeds and
per-seed targets, its id, and the outside texts curation compares against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.config import RunConfig, validated
from datagen.curate.outside import References
from datagen.files import write_json
from datagen.records import record_id
from datagen.run.folder import SCHEMA, RunFolder
from datagen.seeds import SeedTask, load_seeds


@dataclass
class RunPlan:
    """The resolved config, its seeds and per-seed targets. Picklable: it travels to every
    task (threads or Dask workers)."""

    config: RunConfig
    seeds: list[SeedTask]
    run_id: str
    targets: dict[str, int] = field(default_factory=dict)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.config.out)

    @property
    def seed_examples(self) -> list[str]:
        return [ex.instruction for s in self.seeds for ex in s.examples]

    def references(self, published: pd.DataFrame | None = None) -> References:
        from datagen.curate.human import read_verdicts

        path = self.folder.verdicts
        verdicts = read_verdicts(path) if path.is_file() else {}
        return References(seed_examples=self.seed_examples,
                          seed_tasks=[s.task for s in self.seeds], published=published,
                          verdicts=verdicts)


def resolved(config: RunConfig, seeds: list[SeedTask]) -> dict[str, Any]:
    """What `config.json` holds: the schema marker, the config (secrets already redacted:
    `llm.base_url` never holds one) and the seeds as loaded."""
    return {"schema": SCHEMA, "config": config.model_dump(mode="json"),
            "seed_tasks": [s.model_dump(mode="json") for s in seeds]}


def plan_run(config: RunConfig) -> RunPlan:
    """Load and check the seeds and write the resolved config into the run folder."""
    seeds = load_seeds(config.seeds)
    targets = {s.id: config.pairs or s.pairs for s in seeds}
    data = resolved(config, seeds)
    identity = {**data["config"], "out": None}  # the same run in another folder: same id
    run_id = record_id("run", identity, data["seed_tasks"])[:12]
    plan = RunPlan(config=config, seeds=seeds, run_id=run_id, targets=targets)
    plan.folder.ensure()
    write_json(plan.folder.config, data)
    return plan


def plan_from_folder(folder: RunFolder, config: RunConfig | None = None) -> RunPlan:
    """The plan of a finished run, from its `config.json` (for `datagen curate`)."""
    data = folder.read_config()
    cfg = config or validated({**data["config"], "out": str(folder.root)}, str(folder.config))
    seeds = [SeedTask.model_validate(s) for s in data.get("seed_tasks", [])]
    identity = {**data["config"], "out": None}
    return RunPlan(config=cfg, seeds=seeds,
                   run_id=record_id("run", identity, data.get("seed_tasks", []))[:12],
                   targets={s.id: cfg.pairs or s.pairs for s in seeds})
