"""Re-curate a finished run with a new curation config, without a single LLM call.

Every record the run paid for is in `records.parquet`, judge scores included, so changing a
threshold, the language engine, the PII mode or the eval sets only needs the records: verdicts
are recomputed from scratch, then the split and every export are rewritten (atomically, as in
a run). Pairs the judge never scored stay unscored (no call is made here).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from datagen import pipeline
from datagen.config import CurationConfig, RunConfig
from datagen.errors import DatagenError
from datagen.llm.endpoint import Endpoint
from datagen.records import COLUMNS
from datagen.runfolder import RunFolder
from datagen.seeds import SeedTask


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise DatagenError(f"{path}: missing", hint="pass a run folder written by `datagen run`")
    return json.loads(path.read_text(encoding="utf-8"))


def recurate(run_dir: str | Path, curation: CurationConfig | None = None) -> dict[str, Any]:
    """Recompute verdicts, split and exports of `run_dir`; returns the new manifest."""
    folder = RunFolder(run_dir)
    resolved = _read_json(folder.config)
    old = _read_json(folder.manifest)
    seeds = [SeedTask.model_validate(s) for s in resolved.pop("seed_tasks", [])]
    config = RunConfig.model_validate({**resolved, "out": str(folder.root)})
    if config.append_to:
        raise DatagenError("this run appended to a published dataset",
                           hint="re-curate the published dataset's own run instead")
    if curation is not None:
        config = config.model_copy(update={"curation": curation})
    plan = pipeline.RunPlan(config=config, seeds=seeds, run_id=old["run_id"],
                            targets={s.id: config.pairs or s.pairs for s in seeds})
    if not folder.records.exists():
        raise DatagenError(f"{folder.records}: missing", hint="the run did not finish exporting")
    records = pd.read_parquet(folder.records).astype(COLUMNS)
    started = time.perf_counter()
    records = pipeline.curate_stage(plan, records)
    labels, split_info = pipeline.split_stage(plan, records)
    timings = {**old.get("timings_s", {}), "recurate": round(time.perf_counter() - started, 3)}
    shown = old.get("endpoint", {})
    endpoint = Endpoint(base_url=shown.get("base_url", ""), model=shown.get("model", ""),
                        kind=shown.get("kind", "remote"), identity="recurate")
    return pipeline.export_stage(plan, records, labels, split_info, endpoint,
                                 old.get("llm", {}), timings,
                                 old.get("counts", {}).get("by_stage", {}))
