"""The split on a real Dask cluster gives exactly the labels, groups and leakage check of one
process (`datagen.export.split_cluster`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.corpus import build, worded
from datagen.config import RunConfig
from datagen.export.split import GROUPING_SEEDS, in_process
from datagen.export.split_cluster import ClusterFinder, cluster_finder
from datagen.records import new_records, user_texts
from datagen.run.plan import plan_run
from datagen.run.stages import split_stage
from datagen.similarity.grouping import SPLIT_LSH, draw_lsh, lexicographic
from datagen.similarity.minhash import sketch
from datagen.similarity.pairs import components
from datagen.text import token_sort
from tests.conftest import NDA_SEED

distributed = pytest.importorskip("distributed", reason="pip install 'datagen[dask]'")

LARGE = 200_000


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(Path(__file__).resolve().parents[2])  # the workers import this tree's datagen
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))


def real_shaped(n: int) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """`n` kept records of two seeds in shuffled row order (`bench.corpus.worded`: dev-set
    words, planted near and exact copies of any earlier record, so across partitions, and a
    templated family), dedup clusters on half the exact copies and source chunks shared by
    1%; and the exact copies, (copy's id, its original's id)."""
    corpus = worded(n)
    frame = corpus.frame
    ids = frame["id"].to_numpy()
    rng = np.random.default_rng(1)
    exact = np.flatnonzero(np.array(corpus.kind) == "exact")
    copies = [(ids[i], ids[corpus.origin[i]]) for i in exact.tolist()]
    clustered = exact[::2]
    frame.loc[clustered, "dup_cluster"] = ids[np.array(corpus.origin)[clustered]]
    frame["seed_id"] = np.where(np.arange(n) % 2, "lease", "nda")
    rows = frame.to_dict(orient="records")
    for i in rng.choice(n, n // 100, replace=False).tolist():
        rows[i]["metadata"] = {"source": {"id": f"chunk-{i % 200}"}}
    return new_records(rows).sample(frac=1.0, random_state=0), copies


def test_the_split_of_200k_records_on_a_2_worker_cluster_equals_one_process(
        on_path: None, tmp_path: Path) -> None:
    """The run's split stage as a task on a Dask worker (`orchestration.task_runner: dask`):
    the grouping's and the leakage check's searches run on both workers, and the labels,
    the groups they come from and every number of the split check equal one process's."""
    plan = plan_run(RunConfig(seeds=[str(NDA_SEED)], out=str(tmp_path / "run")))
    records, copies = real_shaped(LARGE)
    labels, info = split_stage(plan, records, None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit="3GB", dashboard_address=None) as local, \
            distributed.Client(local) as client:
        with distributed.get_task_stream(client) as stream:
            spread, spread_info = client.submit(split_stage, plan, client.scatter(records),
                                                None).result()
    pd.testing.assert_series_equal(spread, labels)
    assert spread_info == info
    keys = [str(t["key"]) for t in stream.data]
    bands = [t for t in stream.data if str(t["key"]).startswith("band_task")]
    assert len(bands) == 2 * SPLIT_LSH.bands and len({t["worker"] for t in bands}) == 2, keys
    assert sum(k.startswith("_texts_task") for k in keys) == 2  # two 100k partitions
    assert not (plan.folder.root / ".splitting").exists()
    # the groups are not trivial: thousands of copies sit in the other partition than their
    # original (row position under or over LARGE / 2), and every one shares its original's
    # label, where labels drawn record by record would part a third of them
    at = pd.Series(np.arange(LARGE), index=records["id"].to_numpy())
    label = pd.Series(labels.to_numpy(), index=records.loc[labels.index, "id"].to_numpy())
    across = [(a, b) for a, b in copies if (at[a] < LARGE // 2) != (at[b] < LARGE // 2)]
    assert len(across) > 3_000
    assert all(label[a] == label[b] for a, b in across)
    assert (labels == "validation").sum() == pytest.approx(0.2 * LARGE, rel=0.01)
    leakage = info["leakage"]
    assert leakage["passed"] and leakage["near_pairs_checked"] > 0, leakage


def test_the_cluster_finder_gives_one_process_pairs_in_any_row_order(tmp_path: Path) -> None:
    """Templated text (buckets far larger than the window) with equal texts, searched in
    id order and in a shuffled row order, with groups known beforehand: the same pairs, in
    the same order, found the same way."""
    records = new_records(build(8_000).frame.assign(domain="legal").to_dict(orient="records"))
    records = records.sample(frac=1.0, random_state=3)
    prepared = [token_sort(t) for t in user_texts(records)]
    assert len(set(prepared)) < len(prepared) - 200  # ties in the lexicographic order
    keys = sketch([prepared[i] for i in lexicographic(prepared)], draw_lsh(1)).keys
    assert max(np.unique(keys[:, b], return_counts=True)[1].max()
               for b in range(SPLIT_LSH.bands)) > 10 * SPLIT_LSH.window
    by_id = records.sort_values("id")
    known = np.arange(len(records)) // 3  # groups of three, as dedup clusters would be
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as local, \
            distributed.Client(local) as client:
        with cluster_finder(records, client, tmp_path / "work") as finder:
            assert isinstance(finder, ClusterFinder)
            assert (tmp_path / "work").exists()
            for frame, seeds, labels in ((by_id, GROUPING_SEEDS, None), (records, (2,), known)):
                pairs, how = finder(frame, 80.0, seeds, labels)
                one, one_how = in_process(frame, 80.0, seeds, labels)
                np.testing.assert_array_equal(pairs, one)
                assert how == one_how and how["method"] == "minhash" and len(pairs) > 500
            with pytest.raises(ValueError, match="kept records it was made with"):
                finder(records.iloc[:-1], 80.0, (1,), None)
    assert not (tmp_path / "work").exists()
    roots = components(len(records), pairs)
    assert len(set(roots.tolist())) < len(records) - 500  # the pairs make real groups
