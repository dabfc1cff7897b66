"""Adaptive concurrency against a real loopback server that takes only so many requests at
once and answers 429 to the rest, as an overloaded vLLM or a rate-limited gateway does."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.llm.helpers import PARAMS, ask, make_client
from tests.scripted_server import Reply, ScriptedServer

CAPACITY = 6


def overloaded() -> tuple[Any, list[int]]:
    """A server that works on at most CAPACITY requests at a time (20 ms each) and refuses
    the others with 429; returns the handler and the count of refusals."""
    active, refused, lock = [0], [0], threading.Lock()

    def handle(body: dict, n: int) -> Reply:
        with lock:
            if active[0] >= CAPACITY:
                refused[0] += 1
                return Reply("busy", status=429)
            active[0] += 1
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return Reply("ok")

    return handle, refused


def finish(adaptive: bool, tmp_path: Path) -> tuple[Any, int]:
    handle, refused = overloaded()
    with ScriptedServer(handle) as server:
        client = make_client(server.base_url, tmp_path / f"{adaptive}.sqlite",
                             max_concurrency=64, max_retries=50, adaptive=adaptive)

        async def burst() -> list:
            try:
                return await asyncio.gather(*(client.chat(ask(f"q{i}"), params=PARAMS)
                                              for i in range(150)), return_exceptions=True)
            finally:
                await client.aclose()

        done = asyncio.run(burst())
    assert [d for d in done if isinstance(d, BaseException)] == []
    assert len(done) == 150 and len(server.completed) == 150  # every request answered once
    return client, refused[0]


def test_too_high_concurrency_settles_instead_of_storming(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="datagen.llm"):
        adaptive, refusals = finish(True, tmp_path)
    fixed, storm = finish(False, tmp_path)
    gate = adaptive._gate
    assert gate.backoffs >= 2 and gate.lowest <= CAPACITY  # it came down to what the server takes
    assert CAPACITY // 2 <= gate.limit <= 2 * CAPACITY  # and settled near it
    assert refusals < storm / 2  # a fraction of the retries of a fixed window
    assert adaptive.usage.by_status["429"] == refusals
    settled = [r.getMessage() for r in caplog.records if "adaptive concurrency" in r.getMessage()]
    assert len(settled) == 1 and f"of llm.max_concurrency 64 (lowest {gate.lowest})" in settled[0]
    assert fixed._gate.backoffs == 0 and fixed._gate.limit == 64
