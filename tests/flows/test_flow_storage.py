"""What a flow run keeps of its stages stays in proportion to what it paid for: the stage
results of a run of long answers over several rounds are about the size of its response cache,
not a copy of every record per round (the cumulative `compare_records` stage was once
persisted every round)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from flows.generate_dataset import generate_dataset
from tests.flows import world
from tests.scripted_server import Reply, ScriptedServer


def _long_answers(body: dict[str, Any], n: int) -> Reply:
    reply = world.handler(body, n)
    user = body["messages"][-1]["content"]
    judged = "strict reviewer of training data" in body["messages"][0]["content"]
    if not judged and not world._N.search(user):  # an answer: ~10 KB of varied words
        rng = random.Random(user)
        reply.content = f"{reply.content} " + " ".join(rng.choice(world.WORDS)
                                                        for _ in range(1500)) + "."
    return reply


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_stage_results_stay_the_size_of_the_cache(prefect_harness, make_config,
                                                   tmp_path: Path) -> None:
    with ScriptedServer(_long_answers) as server:
        config = make_config(pairs=24, allow_short=True, allow_empty=True,
                             generation={"instructions_per_call": 3},
                             llm={"base_url": server.base_url, "model": "test-model",
                                  "max_retries": 0})
        asyncio.run(generate_dataset(config))
    out = Path(config.out)
    assert len(server.requests) > 10  # several rounds of expansion and answers
    cache = sum(_size(p) for p in out.glob("cache.sqlite*"))  # with its write-ahead log
    stages = _size(out / "stages")
    assert cache > 200_000, cache  # the long answers were really paid for
    # main stored ~14x the cache (every record again each round, pickled uncompressed)
    assert stages < 2 * cache, (stages, cache)
