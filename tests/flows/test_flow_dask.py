"""The same flow on a Dask LocalCluster (2 worker processes) makes the same dataset as with
threads."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pandas as pd

from flows.generate_dataset import generate_dataset
from tests.flows.conftest import stage_states


def test_dask_cluster_gives_the_same_dataset_as_threads(prefect_harness, make_config, tmp_path,
                                                       caplog):
    # 8 pairs: fewer training examples than OpenAI's 10, accepted (the datasets are compared)
    threads = make_config(out=str(tmp_path / "threads"), allow_short=True)
    dask = make_config(out=str(tmp_path / "dask"), allow_short=True,
                       orchestration={"task_runner": "dask", "dask_workers": 2})
    on_threads = asyncio.run(generate_dataset(threads))
    with caplog.at_level(logging.INFO, logger="prefect.task_runner.dask"):
        on_dask = asyncio.run(generate_dataset(dask))
    started = [r.getMessage() for r in caplog.records if r.name == "prefect.task_runner.dask"]
    assert any("LocalCluster" in m for m in started), started
    assert on_dask["counts"] == on_threads["counts"]
    for name in ("train", "validation"):
        a = (Path(threads.out) / "openai" / f"{name}.jsonl").read_text()
        b = (Path(dask.out) / "openai" / f"{name}.jsonl").read_text()
        assert a == b and a
    cols = ["id", "instruction", "response", "keep", "drop_reason", "dup_cluster"]
    a = pd.read_parquet(Path(threads.out) / "records.parquet")[cols]
    b = pd.read_parquet(Path(dask.out) / "records.parquet")[cols]
    pd.testing.assert_frame_equal(a, b)
    states = asyncio.run(stage_states(on_dask["flow_run_id"]))
    assert {"expand-legal-nda-clauses-r0", "dataset_stages-0"} <= set(states)
    assert all(v == "Completed" for v in states.values()), states
