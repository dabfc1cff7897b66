"""Curation on a real 2-worker Dask LocalCluster gives exactly the single-process verdicts."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from bench.corpus import build
from datagen.config import CurationConfig, RunConfig
from datagen.curate import curate
from datagen.curate.partitioned import curate_partitioned
from datagen.curate.pool import partitions_of
from datagen.records import new_records
from datagen.run.plan import plan_run
from datagen.run.stages import curate_stage
from tests.conftest import NDA_SEED

distributed = pytest.importorskip("distributed", reason="pip install 'datagen[dask]'")

# 200k records take minutes on 2 shared cores (over the test budget); 16k keeps it near 30 s and
# still puts hundreds of duplicates across partition borders (LSH, not all pairs, at this size)
RECORDS = 16_000


def test_partitioned_curation_gives_the_single_process_verdicts(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Both ways onto a cluster: `curate_partitioned` from a client, and a run's curate stage
    as a task on a Dask worker (`orchestration.task_runner: dask`), which spreads its
    partitions over every worker."""
    root = str(Path(__file__).resolve().parents[2])  # the workers import this tree's datagen
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    cfg = {"pii": {"mode": "mask"}}  # a check that edits text
    plan = plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(tmp_path / "run"),
                              pairs=RECORDS // 2, curation=cfg))  # the surplus check too
    [seed] = plan.seeds
    corpus = build(RECORDS)
    df = new_records(corpus.frame.assign(domain="legal", seed_id=seed.id)
                     .to_dict(orient="records"))
    targets = plan.targets
    single = curate(df, plan.config.curation, targets=targets)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit="2GB", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spread = curate_partitioned(df, plan.config.curation, client, parts=4, targets=targets)
        with distributed.get_task_stream(client) as stream:
            staged = client.submit(curate_stage, plan, df, None, True).result()
    pd.testing.assert_frame_equal(spread, single)
    pd.testing.assert_frame_equal(staged, single)
    parts = [t for t in stream.data if str(t["key"]).startswith("_sliced")]
    assert len(parts) >= 2 and len({t["worker"] for t in parts}) == 2, stream.data
    reasons = single["drop_reason"].value_counts()
    assert {"exact_duplicate", "near_duplicate", "wrong_language", "surplus"} <= set(reasons.index)
    assert reasons["near_duplicate"] > 500


def test_partitions_cover_every_row_once_in_order() -> None:
    frame = pd.DataFrame({"x": range(10)})
    parts = partitions_of(frame, 4)
    assert [len(p) for p in parts] == [2, 3, 2, 3]
    assert pd.concat(parts)["x"].tolist() == list(range(10))
    assert len(partitions_of(frame.iloc[:2], 4)) == 2  # no empty partition


def test_a_large_pass_on_slices_and_cores_gives_the_one_pass_verdicts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datagen.curate import pool

    df = new_records(build(6_000).frame.assign(domain="legal").to_dict(orient="records"))
    cfg = CurationConfig.model_validate({"pii": {"mode": "mask"}, "workers": 2})
    targets = {"bench": 2_000}
    monkeypatch.setattr(pool, "SLICE_ROWS", 10**9)  # one pass, as a small run curates
    monkeypatch.setattr(pool, "POOL_MIN_ROWS", 10**9)
    single = curate(df, cfg, targets=targets)
    forked: list[int] = []
    real = pool.ProcessPoolExecutor

    def counted(workers: int, **kwargs: object) -> object:
        forked.append(workers)
        return real(workers, **kwargs)

    monkeypatch.setattr(pool, "ProcessPoolExecutor", counted)
    monkeypatch.setattr(pool, "SLICE_ROWS", 1_000)  # six slices...
    monkeypatch.setattr(pool, "POOL_MIN_ROWS", 2_000)  # ...on two forked workers
    sliced = curate(df, cfg, targets=targets)
    assert forked == [2]
    pd.testing.assert_frame_equal(sliced, single)
    assert sliced["drop_reason"].nunique() >= 3
    monkeypatch.setattr(pool, "POOL_MIN_ROWS", 10**9)  # slices one by one, here
    pd.testing.assert_frame_equal(curate(df, cfg, targets=targets), single)
