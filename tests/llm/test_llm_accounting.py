"""A call that ends with no usable answer after its retries is one failed call, whatever the
HTTP status was: malformed bodies (bad JSON, no choices, an HTML page) are not counted as
successful requests, so the failed share and `llm.max_failed_share` see them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from datagen.llm.wire import LLMCallError
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.llm.helpers import PARAMS, ask, make_client
from tests.scripted_server import Reply, ScriptedServer

MALFORMED = [
    Reply(raw_body=b'{"id": "chatcmpl-1", "choi'),
    Reply(raw_body=b'{"id": "chatcmpl-2", "choices": []}'),
    Reply(raw_body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
          headers={"Content-Type": "text/html"}),
]


@pytest.mark.parametrize("reply", MALFORMED, ids=["bad-json", "no-choices", "html"])
def test_calls_whose_every_answer_is_malformed_count_as_failed(tmp_path: Path,
                                                               reply: Reply) -> None:
    with ScriptedServer(lambda body, n: reply) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", max_retries=2)

        async def four() -> list[object]:
            try:
                return await asyncio.gather(*(client.chat(ask(f"q{i}"), params=PARAMS)
                                              for i in range(4)), return_exceptions=True)
            finally:
                await client.aclose()

        done = asyncio.run(four())
    assert all(isinstance(d, LLMCallError) and d.reason.startswith("bad_body") for d in done)
    assert len(server.requests) == 12  # each call tried 3 times
    u = client.usage
    assert (u.requests, u.failures, u.retries) == (0, 4, 8)
    assert u.by_status == {"bad_body": 12}
    calls = u.requests + u.failures + u.cache_hits  # what the run's failed share divides by
    assert u.failures / calls == 1.0
    assert len(client.cache) == 0


def test_a_malformed_answer_then_a_good_one_is_one_request(tmp_path: Path) -> None:
    with ScriptedServer(lambda body, n: MALFORMED[2] if n == 0 else Reply("fine")) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")

        async def one() -> str | None:
            try:
                return (await client.chat(ask(), params=PARAMS)).text
            finally:
                await client.aclose()

        assert asyncio.run(one()) == "fine"
    assert (client.usage.requests, client.usage.failures, client.usage.retries) == (1, 0, 1)


def test_a_run_whose_answers_are_all_malformed_exits_6(prefect_harness, tmp_path: Path) -> None:
    """With 3 retries, counting every attempt's body as a request made the failed share
    1 in 5 (20%), not over the 20% default: the run then blamed the seed, not the endpoint."""
    config = tmp_path / "run.yaml"
    config.write_text("llm:\n  max_retries: 3\n")
    with ScriptedServer(lambda body, n: MALFORMED[2]) as server:
        code, out = cli("run", NDA_SEED, "--pairs", "2", "--out", tmp_path / "run",
                        "--base-url", server.base_url, "--model", "test-model",
                        "--config", config)
    assert code == 6, out
    assert "LLM calls failed (100%" in out and "bad_body" in out, out
    assert "Traceback" not in out
