"""Limits that hold for the run as a whole: two Dask worker processes call one loopback server
on one run folder, and together they stay within the configured RPM and the budget cap."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from datagen.llm.pricing import Price
from tests.llm.helpers import ask_in_worker
from tests.scripted_server import Reply, ScriptedServer

distributed = pytest.importorskip("distributed")  # the `dask` extra

RPM = 600  # 10 a second, bursts of 10
PER_WORKER = 25


@pytest.fixture(scope="module")
def two_workers():  # noqa: ANN201
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def on_both(client, fn, *args, **kwargs) -> list[dict]:  # noqa: ANN001
    workers = list(client.scheduler_info()["workers"])
    assert len(workers) == 2
    futures = [client.submit(fn, *args, tag=f"w{i}", workers=[w], pure=False, **kwargs)
               for i, w in enumerate(workers)]
    results = client.gather(futures)
    assert len({r["pid"] for r in results}) == 2  # two processes, one limit
    return results


def test_rpm_holds_across_two_workers(two_workers, tmp_path: Path) -> None:
    with ScriptedServer(lambda body, n: Reply("ok")) as server:
        results = on_both(two_workers, ask_in_worker, server.base_url, "test:rpm",
                          str(tmp_path / "cache.sqlite"), PER_WORKER, requests_per_minute=RPM)
        times = sorted(server.times)
    assert [r["answered"] for r in results] == [PER_WORKER, PER_WORKER]
    rate, burst = RPM / 60, RPM / 60
    # In any two seconds, at most a full bucket plus two seconds' refill for both workers
    # together (+3 for arrival jitter on a busy machine); each on its own would allow twice.
    busiest = max(sum(1 for t in times if s <= t < s + 2.0) for s in times)
    assert busiest <= burst + 2 * rate + 3, busiest
    assert times[-1] - times[0] >= 0.9 * (2 * PER_WORKER - burst) / rate


def test_budget_cap_holds_across_two_workers(two_workers, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    price = Price("test-model", input=1000.0, output=1000.0, source="config")  # $0.001/token
    cap = 1.0  # about 90 answers of ~11 tokens ($0.011); the workers ask for 120 together
    # Slow answers keep both workers spending at once (a worker that started after the other
    # finished would see its spending in the cache even without a shared cap).
    with ScriptedServer(lambda body, n: Reply("ok", delay_s=0.2)) as server:
        results = on_both(two_workers, ask_in_worker, server.base_url, "test:budget",
                          str(cache), 60, max_cost_usd=cap, price=price)
    with sqlite3.connect(cache) as conn:
        spent, answers = conn.execute(
            "SELECT SUM(cost_usd), COUNT(*) FROM responses").fetchone()
    assert spent <= cap  # the run as a whole, not per worker
    assert answers == sum(r["answered"] for r in results) == len(server.completed)
    assert all(r["refused"] > 0 for r in results)  # both were stopped by the one cap
    # and the cap was used, not lost to leases: what stops a worker is the worst case held
    # for its 8 requests in flight ($0.029 each), as in a single process
    assert spent > cap / 2
