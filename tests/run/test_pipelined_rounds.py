"""The rounds' curation between stages, through the scripted server: checking only the new or
changed records one by one, then comparing all records, gives the verdicts curating from
scratch gives, and the curation worker process writes the very dataset the event loop
writes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datagen.run import fanout, rounds, run
from datagen.run.fanout import LocalFanout
from datagen.run.plan import RunPlan
from datagen.run.stages import check_each_stage, compare_records_stage, curate_stage
from tests.run.test_large_targets import _config, saturating, varied
from tests.scripted_server import ScriptedServer

VERDICTS = ["id", "keep", "drop_reason", "lost_to", "dup_cluster"]


class Recording(LocalFanout):
    """The local fan-out, keeping every compared frame with the plan it was compared for."""

    def __init__(self) -> None:
        self.compared: list[tuple[Any, pd.DataFrame, Any]] = []

    async def call(self, stage: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        out = await super().call(stage, *args, **kwargs)
        if stage is compare_records_stage:
            self.compared.append((args[0], out, args[2]))
        return out


def _verdicts(df: pd.DataFrame) -> pd.DataFrame:
    return df[VERDICTS].sort_values("id").reset_index(drop=True).astype(str)


def test_compared_verdicts_are_what_curating_from_scratch_gives(tmp_path: Path) -> None:
    # a seed that saturates: many exact and near copies across rounds, and judge calls the
    # scripted answers cannot satisfy (judge errors), so every kind of verdict turns up
    recording = Recording()
    with ScriptedServer(saturating) as server:
        result = asyncio.run(run(_config(tmp_path, server, 40), recording))
    assert result.manifest["generation"]["legal-nda-clauses"]["rounds"] >= 2
    assert len(recording.compared) >= 4  # after each expansion and after each answering
    reasons: set[str] = set()
    for plan, compared, published in recording.compared:
        scratch = curate_stage(plan, compared, published, False)
        pd.testing.assert_frame_equal(_verdicts(compared), _verdicts(scratch))
        reasons |= set(compared["drop_reason"].dropna().astype(str))
    assert {"exact_duplicate", "near_duplicate"} <= reasons, reasons


def test_the_curation_worker_writes_the_dataset_the_loop_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Callable[..., Any]] = []
    decide = fanout.in_worker

    def counting(stage: Callable[..., Any], plan: RunPlan | None) -> bool:
        yes = decide(stage, plan)
        if yes:
            sent.append(stage)
        return yes

    monkeypatch.setattr(fanout, "in_worker", counting)
    datasets = {}
    with ScriptedServer(varied) as server:  # one server: the same endpoint, the same ids
        for name, min_pairs in (("loop", 10**9), ("worker", 0)):
            monkeypatch.setattr(fanout, "PROCESS_MIN_PAIRS", min_pairs)
            result = asyncio.run(run(_config(tmp_path / name, server, 60)))
            assert result.outcome().name == "complete", result.outcome().message
            records = pd.read_parquet(tmp_path / name / "run" / "records.parquet")
            datasets[name] = records[[*VERDICTS, "instruction", "response", "scores"]]
            assert bool(sent) == (name == "worker")
    assert {check_each_stage, compare_records_stage} <= set(sent)
    assert len(datasets["loop"]) > 60
    pd.testing.assert_frame_equal(datasets["loop"].astype(str), datasets["worker"].astype(str))


def test_the_stage_calls_of_a_run_share_kept_alive_connections(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # small batches: many respond and judge stage calls, each with its own client, at once
    monkeypatch.setattr(rounds, "RESPOND_BATCH", 5)
    monkeypatch.setattr(rounds, "JUDGE_BATCH", 5)
    with ScriptedServer(varied) as server:
        result = asyncio.run(run(_config(tmp_path, server, 60,
                                         llm={"max_concurrency": 4})))
    assert result.outcome().name == "complete", result.outcome().message
    by_stage = result.manifest["llm"]["by_stage"]
    assert by_stage["respond"]["requests"] >= 60 and by_stage["judge"]["requests"] >= 60
    # one pool of at most max_concurrency connections for the whole run (a client of its
    # own per stage call opened ~40 here)
    assert 1 <= server.connections <= 4 + 1, server.connections  # + the endpoint check
