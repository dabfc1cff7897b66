"""Curation on a real 2-worker Dask LocalCluster gives exactly the single-process verdicts."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pandas as pd
import pytest

from bench.corpus import build
from datagen.config import CurationConfig, RunConfig
from datagen.curate import curate
from datagen.curate.distributed import curate_files, read_curated
from datagen.curate.outside import References
from datagen.curate.partitioned import curate_partitioned
from datagen.curate.pool import partitions_of
from datagen.records import new_records
from datagen.run.plan import plan_run
from datagen.run.stages import curate_stage
from datagen.similarity.minhash import LSHParams
from tests.conftest import NDA_SEED

distributed = pytest.importorskip("distributed", reason="pip install 'datagen[dask]'")

# the run's curate stage on a cluster; 16k still puts hundreds of duplicates across partition
# borders (LSH, not all pairs, at this size)
RECORDS = 16_000
LARGE = 200_000  # the records file curated on the cluster, partition by partition


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(Path(__file__).resolve().parents[2])  # the workers import this tree's datagen
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))


def cluster(memory_limit: str = "2GB") -> distributed.LocalCluster:
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    memory_limit=memory_limit, dashboard_address=None)


def test_partitioned_curation_gives_the_single_process_verdicts(
        on_path: None, tmp_path: Path) -> None:
    """Both ways onto a cluster: `curate_partitioned` from a client (partitions sent from
    memory), and a run's curate stage as a task on a Dask worker
    (`orchestration.task_runner: dask`), which curates the records from a Parquet file in
    the run folder, partition by partition on every worker."""
    cfg = {"pii": {"mode": "mask"}}  # a check that edits text
    plan = plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(tmp_path / "run"),
                              pairs=RECORDS // 2, curation=cfg))  # the surplus check too
    [seed] = plan.seeds
    corpus = build(RECORDS)
    df = new_records(corpus.frame.assign(domain="legal", seed_id=seed.id)
                     .to_dict(orient="records"))
    targets = plan.targets
    single = curate(df, plan.config.curation, targets=targets)
    with cluster() as local, distributed.Client(local) as client:
        spread = curate_partitioned(df, plan.config.curation, client, parts=4, targets=targets)
        with distributed.get_task_stream(client) as stream:
            staged = client.submit(curate_stage, plan, df, None, True).result()
    pd.testing.assert_frame_equal(spread, single)
    pd.testing.assert_frame_equal(staged, single)
    parts = [t for t in stream.data if str(t["key"]).startswith("_judge_part")]
    assert len(parts) >= 2 and len({t["worker"] for t in parts}) == 2, stream.data
    assert not (plan.folder.root / ".curating").exists()  # its work files are gone
    reasons = single["drop_reason"].value_counts()
    assert {"exact_duplicate", "near_duplicate", "wrong_language", "surplus"} <= set(reasons.index)
    assert reasons["near_duplicate"] > 500


def test_a_records_file_curated_on_the_cluster_gives_the_single_process_verdicts(
        on_path: None, tmp_path: Path) -> None:
    """200k records read as Parquet partitions by the workers, dedup across partitions (band
    buckets on the workers, then the best of each neighbourhood): every verdict equals one
    pass's, and no worker went past its memory limit."""
    source = tmp_path / "records.parquet"
    new_records(build(LARGE).frame.assign(domain="legal").to_dict(orient="records")).to_parquet(
        source, row_group_size=25_000)
    records = pd.read_parquet(source)
    cfg, targets = CurationConfig(), {"bench": LARGE // 2}
    single = curate(records, cfg, targets=targets)
    limit = 3 * 2**30
    with cluster(f"{limit}B") as local, distributed.Client(local) as client:
        with distributed.get_task_stream(client) as stream:
            counts = curate_files(source, tmp_path / "out", cfg, client, targets=targets)
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    pd.testing.assert_frame_equal(read_curated(tmp_path / "out"), single)
    assert counts == {"records": LARGE, "kept": int(single["keep"].sum())}
    keys = [str(t["key"]) for t in stream.data]
    assert sum(k.startswith("_judge_part") for k in keys) == 2  # 100k-record partitions
    assert sum(k.startswith("band_task") for k in keys) == LSHParams().bands
    assert max(peaks.values()) < limit
    reasons = single["drop_reason"].value_counts()
    assert reasons["near_duplicate"] > 10_000 and reasons["exact_duplicate"] > 5_000
    assert not (tmp_path / "out" / ".work").exists()


def test_published_and_human_verdicts_on_the_cluster(on_path: None, tmp_path: Path) -> None:
    """The checks with outside texts: a published set (appending) and a human's verdicts,
    with small partitions, so that a record and its published twin or near copy sit in
    different partitions."""
    df = new_records(build(12_000).frame.assign(domain="legal").to_dict(orient="records"))
    source = tmp_path / "records.parquet"
    df.to_parquet(source, row_group_size=1_000)
    records = pd.read_parquet(source)
    published = records.iloc[::97].copy()
    verdicts = {records["id"].iat[5]: {"verdict": "keep"},
                records["id"].iat[6001]: {"verdict": "drop", "note": "off topic"}}
    refs = References(published=published, verdicts=verdicts)
    cfg = CurationConfig.model_validate({"pii": {"mode": "mask"}})
    single = curate(records, cfg, refs=refs, targets={"bench": 5_000})
    with cluster() as local, distributed.Client(local) as client:
        curate_files(source, tmp_path / "out", cfg, client, refs=refs,
                     targets={"bench": 5_000}, part_rows=3_000)
    pd.testing.assert_frame_equal(read_curated(tmp_path / "out"), single)
    reasons = set(single["drop_reason"].dropna())
    assert {"published_duplicate", "human_drop", "near_duplicate", "surplus"} <= reasons


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
