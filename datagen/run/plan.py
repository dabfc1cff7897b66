"""What a run will do, decided before anything is paid for: the resolved config, its seeds and
per-seed targets, its id, and the outside texts curation compares against."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from datagen.checks.heuristics.pii import scan
from datagen.config import RunConfig, check_utf8, validated
from datagen.curate.outside import References
from datagen.errors import ConfigError
from datagen.files import read_json_lines, write_json, write_jsonl
from datagen.records import record_id
from datagen.run.folder import SCHEMA, RunFolder, stored_seed
from datagen.seeds import SeedTask, load_seeds
from datagen.seeds.sources import Unit, units


@dataclass
class RunPlan:
    """The resolved config, its seeds and per-seed targets. Picklable: it travels to every
    task (threads or Dask workers)."""

    config: RunConfig
    seeds: list[SeedTask]
    run_id: str
    targets: dict[str, int] = field(default_factory=dict)
    units: dict[str, list[Unit]] = field(default_factory=dict)  # grounded seeds, call order

    @property
    def sources(self) -> dict[str, Unit]:
        """Every unit of every grounded seed, by id."""
        return {u.id: u for us in self.units.values() for u in us}

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.config.out)

    @property
    def seed_examples(self) -> list[str]:
        return [ex.instruction for s in self.seeds for ex in s.examples]

    def references(self, published: pd.DataFrame | None = None) -> References:
        from datagen.checks.human import read_verdicts

        path = self.folder.verdicts
        verdicts = read_verdicts(path) if path.is_file() else {}
        return References(seed_examples=self.seed_examples,
                          seed_tasks=[s.task for s in self.seeds], published=published,
                          verdicts=verdicts,
                          sources={k: u.text for k, u in self.sources.items()})


def resolved(config: RunConfig, seeds: list[SeedTask]) -> dict[str, Any]:
    """What `config.json` holds: the schema marker, the config (secrets already redacted:
    `llm.base_url` never holds one) and the seeds as loaded."""
    return {"schema": SCHEMA, "config": config.model_dump(mode="json"),
            "seed_tasks": [s.model_dump(mode="json") for s in seeds]}


def masked(unit: Unit) -> Unit:
    """The unit with its PII masked: what leaves the machine."""
    kinds, text = scan(unit.text)
    if not kinds:
        return unit
    return replace(unit, text=text, fields={k: scan(v)[1] for k, v in unit.fields.items()})


def ground(config: RunConfig, seeds: list[SeedTask]) -> dict[str, list[Unit]]:
    """Every grounded seed's units, read and checked now (before anything is paid for), with
    PII masked when curation masks it (`curation.pii.mode: mask`), so that what a remote
    endpoint is sent holds none; the manifest's `sources` section counts the masked units."""
    found = {s.id: units(s, config.seed, config.source_roots) for s in seeds
             if s.sources is not None}
    for sid, us in found.items():  # their names go into sources.jsonl and the records
        for name in sorted({u.file for u in us}):
            check_utf8(name, f"seed {sid}: source file")
    if config.curation.pii.mode == "mask":
        found = {sid: [masked(u) for u in us] for sid, us in found.items()}
    return found


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What a run's id is derived from: its resolved config without its folder (the same run
    in another folder has the same id), and without model roles left at their defaults (a
    run of one model keeps the id it had before roles existed)."""
    out = {**config, "out": None}
    if not out.get("models"):
        out.pop("models", None)
    if not any((out.get("roles") or {}).values()):
        out.pop("roles", None)
    return out


def plan_run(config: RunConfig) -> RunPlan:
    """Load and check the seeds (and their sources) and write the resolved config (and the
    sources' units) into the run folder."""
    seeds = load_seeds(config.seeds)
    grounded = ground(config, seeds)
    targets = {s.id: config.pairs or s.pairs for s in seeds}
    data = resolved(config, seeds)
    identity = run_identity(data["config"])
    digest = {sid: [u.id for u in us] for sid, us in grounded.items()}
    run_id = record_id("run", identity, data["seed_tasks"], *([digest] if digest else []))[:12]
    plan = RunPlan(config=config, seeds=seeds, run_id=run_id, targets=targets, units=grounded)
    plan.folder.ensure()
    write_json(plan.folder.config, data)
    if grounded:
        write_jsonl(plan.folder.sources, [{"seed_id": sid, **u.as_dict()}
                                          for sid, us in grounded.items() for u in us])
    return plan


def read_units(folder: RunFolder) -> dict[str, list[Unit]]:
    """The grounded seeds' units a run used, from its `sources.jsonl`; a damaged line is a
    ConfigError naming the file and the line."""
    if not folder.sources.is_file():
        return {}
    out: dict[str, list[Unit]] = {}
    fix = "restore sources.jsonl, or rerun `datagen run` with the same seeds into a new folder"
    for n, row in enumerate(read_json_lines(folder.sources, what="sources file", fix=fix), 1):
        try:
            sid = row.pop("seed_id")
            unit = Unit(**row)
        except (AttributeError, KeyError, TypeError):
            raise ConfigError(f"{folder.sources}:{n}: not a source unit (`seed_id`, `id`, "
                              "`kind`, `file`, `text`, ...)", hint=fix) from None
        out.setdefault(str(sid), []).append(unit)
    return out


def plan_from_folder(folder: RunFolder, config: RunConfig | None = None) -> RunPlan:
    """The plan of a finished run, from its `config.json` (for `datagen curate`), read
    through the run folder's one validating reader."""
    data = folder.read_config()
    cfg = config or validated({**data["config"], "out": str(folder.root)}, str(folder.config))
    seeds = [stored_seed(s) for s in data.get("seed_tasks", [])]
    identity = run_identity(data["config"])
    grounded = read_units(folder)
    digest = {sid: [u.id for u in us] for sid, us in grounded.items()}
    return RunPlan(config=cfg, seeds=seeds,
                   run_id=record_id("run", identity, data.get("seed_tasks", []),
                                    *([digest] if digest else []))[:12],
                   targets={s.id: cfg.pairs or s.pairs for s in seeds}, units=grounded)
