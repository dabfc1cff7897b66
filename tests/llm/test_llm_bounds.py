"""An endpoint cannot make a run store more than `llm.max_answer_bytes` per answer: a larger
body is cut off while it is read (on both transports, announced by Content-Length or not),
fails its call as `oversize` without a retry, and is never cached; a run against such an
endpoint keeps a small run folder and exits as failed calls."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from datagen.config import LLMConfig
from datagen.llm.bounds import DEFAULT_MAX_ANSWER_BYTES
from datagen.llm.wire import LLMCallError
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.llm.helpers import PARAMS, ask, make_client
from tests.scripted_server import Reply, ScriptedServer, completion_body

MB = 1024 * 1024


def _first_then_small(first: Reply):  # noqa: ANN202
    return lambda body, n: first if n == 0 else Reply("small")


async def _oversize_then_small(client) -> tuple[LLMCallError, str | None]:  # noqa: ANN001
    try:
        with pytest.raises(LLMCallError) as info:
            await client.chat(ask("big"), params=PARAMS)
        after = await client.chat(ask("next"), params=PARAMS)  # the client still works
    finally:
        await client.aclose()
    return info.value, after.text


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "close-delimited"])
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_48_mb_answer_is_cut_off_early_and_never_stored(tmp_path: Path, transport: str,
                                                          announce: bool) -> None:
    big = Reply(body_bytes=48 * MB, announce_length=announce)
    with ScriptedServer(_first_then_small(big)) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", transport=transport)
        error, after = asyncio.run(_oversize_then_small(client))
    assert error.reason.startswith("oversize"), error.reason
    assert "llm.max_answer_bytes" in error.reason
    assert after == "small"
    assert len(server.requests) == 2  # not retried
    assert server.sent_bytes[0] < 16 * MB  # the client hung up early, it did not drain it
    assert client.usage.failures == 1 and client.usage.requests == 1
    assert client.usage.by_status == {"oversize": 1}
    assert len(client.cache) == 1  # only the small answer
    assert (tmp_path / "c.sqlite").stat().st_size < MB


def test_the_bound_is_configurable_and_an_answer_under_it_passes(tmp_path: Path) -> None:
    def replies(body: dict, n: int) -> Reply:
        size = 60_000 if "small" in body["messages"][0]["content"] else 200_000
        return Reply(body_bytes=size, announce_length=False)

    with ScriptedServer(replies) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", max_answer_bytes=100_000)

        async def go() -> tuple[int, BaseException | None]:
            try:
                fits = await client.chat(ask("small"), params=PARAMS)
                try:
                    await client.chat(ask("large"), params=PARAMS)
                except LLMCallError as exc:
                    return len(fits.text or ""), exc
                return len(fits.text or ""), None
            finally:
                await client.aclose()

        size, error = asyncio.run(go())
    assert 50_000 < size < 60_000
    assert isinstance(error, LLMCallError) and error.reason.startswith("oversize")


def test_a_compressed_answer_is_bounded_once_decoded(tmp_path: Path) -> None:
    body = completion_body(Reply("x" * (DEFAULT_MAX_ANSWER_BYTES + MB)), "test-model")
    packed = gzip.compress(json.dumps(body).encode())
    assert len(packed) < 100_000  # small on the wire: only the decoded size tells
    bomb = Reply(raw_body=packed, headers={"Content-Encoding": "gzip"})
    with ScriptedServer(_first_then_small(bomb)) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        error, after = asyncio.run(_oversize_then_small(client))
    assert error.reason.startswith("oversize") and after == "small"
    assert len(client.cache) == 1


def test_the_config_default_is_the_client_default() -> None:
    assert LLMConfig().max_answer_bytes == DEFAULT_MAX_ANSWER_BYTES
    # far above max_tokens worth of text: 32k tokens of ~4 bytes, each JSON-escaped 6x
    assert DEFAULT_MAX_ANSWER_BYTES > 32_768 * 4 * 6


def test_a_run_against_an_endpoint_of_huge_answers_stays_small(prefect_harness,
                                                               tmp_path: Path) -> None:
    """Instructions come normally; every answer is 6 MB (over the 4 MB default): the calls
    fail as `oversize`, the run exits 6, and the run folder (cache, stage results, records)
    holds no answer body."""

    def huge_answers(body: dict, n: int) -> Reply:
        if "numbered list" in body["messages"][-1]["content"]:
            return handler(body, n)
        return Reply(body_bytes=6 * MB)

    config = tmp_path / "run.yaml"
    config.write_text("llm:\n  max_retries: 0\n")
    out = tmp_path / "run"
    with ScriptedServer(huge_answers) as server:
        code, printed = cli("run", NDA_SEED, "--pairs", "4", "--out", out, "--base-url",
                            server.base_url, "--model", "test-model", "--config", config)
    assert code == 6, printed
    assert "oversize" in printed and "Traceback" not in printed
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    assert size < 2 * MB, f"run folder holds {size:,} bytes"
