"""Batch API mode against the scripted server's /v1/files and /v1/batches routes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from datagen.config import LLMConfig, ModelPrice
from datagen.llm.batch import BatchStore, request_line, split_files
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.wire import Completion, LLMCallError
from tests.llm.helpers import PARAMS, ask, endpoint_for
from tests.scripted_server import BatchScript, Reply, ScriptedServer

QUESTIONS = [f"question {i}" for i in range(6)]


def batch_client(server: ScriptedServer, cache: Path, endpoint: Any = None) -> LLMClient:
    llm = LLMConfig(batch=True, batch_poll_s=0.05, max_retries=2,
                    prices={"test-model": ModelPrice(input=1000, output=1000)})
    client = LLMClient.for_run(endpoint or endpoint_for(server.base_url, kind="remote"),
                               ResponseCache(cache), llm)
    assert client.batch is not None
    client.batch.flush_after_s = 0.1
    return client


async def ask_all(client: LLMClient, texts: list[str]) -> list[Completion | Exception]:
    try:
        return await asyncio.gather(*(client.chat(ask(t), params=PARAMS) for t in texts),
                                    return_exceptions=True)
    finally:
        await client.aclose()


def answer_by_question(fail: dict[int, dict[str, int | None]]):  # noqa: ANN201
    """Line replies: the question echoed, except `fail[batch][question] = status or None`."""
    def line(batch: int, i: int, body: dict[str, Any]) -> Reply | None:
        q = int(body["messages"][-1]["content"].split()[-1])
        if q in fail.get(batch, {}):
            status = fail[batch][q]
            return None if status is None else Reply("failed", status=status)
        return Reply(f"answer {q}", prompt_tokens=10, completion_tokens=2)
    return line


def test_request_files_are_split_at_the_limits() -> None:
    lines = [request_line(f"k{i}", "m", ask(f"q{i}"), PARAMS) for i in range(5)]
    assert [len(f) for f in split_files(lines, max_requests=2)] == [2, 2, 1]
    size = len(lines[0])
    assert [len(f) for f in split_files(lines, max_bytes=2 * size + 1)] == [2, 2, 1]
    assert split_files(lines) == [lines]


def test_lifecycle_with_failed_lines_resubmits_only_those(tmp_path: Path) -> None:
    # question 1: a 500 (retried in a new batch); question 2: a 400 (fails, not retried)
    script = BatchScript(line=answer_by_question({0: {1: 500, 2: 400}}))
    with ScriptedServer(batch_script=script) as server:
        client = batch_client(server, tmp_path / "c.sqlite")
        results = asyncio.run(ask_all(client, QUESTIONS))
    assert [r.text if isinstance(r, Completion) else "error" for r in results] == [
        "answer 0", "answer 1", "error", "answer 3", "answer 4", "answer 5"]
    assert isinstance(results[2], LLMCallError) and "http_400" in results[2].reason
    assert len(server.batches) == 2
    first, second = (server.batches[b]["lines"] for b in ("batch_0", "batch_1"))
    assert len(first) == 6
    assert [line["body"]["messages"][-1]["content"] for line in second] == ["question 1"]
    assert server.requests == []  # nothing went to /chat/completions
    # Half price: 5 answers x 12 tokens x $1000/1M x 0.5
    assert client.cache.spent_usd() == pytest.approx(5 * 12 * 1000 / 1e6 * 0.5)
    assert client.usage.cost_usd == pytest.approx(client.cache.spent_usd())


def test_expired_batch_resubmits_the_unfinished(tmp_path: Path) -> None:
    script = BatchScript(
        statuses=lambda b: ["validating", "in_progress", "expired" if b == 0 else "completed"],
        line=answer_by_question({0: {3: None, 4: None, 5: None}}))
    with ScriptedServer(batch_script=script) as server:
        client = batch_client(server, tmp_path / "c.sqlite")
        results = asyncio.run(ask_all(client, QUESTIONS))
    assert [r.text for r in results] == [f"answer {i}" for i in range(6)]  # type: ignore[union-attr]
    second = server.batches["batch_1"]["lines"]
    assert sorted(line["body"]["messages"][-1]["content"] for line in second) == [
        "question 3", "question 4", "question 5"]


def test_failed_batch_is_not_resubmitted(tmp_path: Path) -> None:
    script = BatchScript(statuses=lambda b: ["validating", "failed"])
    with ScriptedServer(batch_script=script) as server:
        client = batch_client(server, tmp_path / "c.sqlite")
        results = asyncio.run(ask_all(client, QUESTIONS[:2]))
    assert all(isinstance(r, LLMCallError) and "batch_failed" in r.reason for r in results)
    assert len(server.batches) == 1


def test_stopped_process_resumes_polling_without_resubmitting(tmp_path: Path) -> None:
    script = BatchScript(statuses=lambda b: ["validating"] + ["in_progress"] * 6 + ["completed"],
                         line=answer_by_question({}))
    cache = tmp_path / "c.sqlite"
    with ScriptedServer(batch_script=script) as server:
        endpoint = endpoint_for(server.base_url, kind="remote")
        first = batch_client(server, cache, endpoint)

        async def stopped() -> None:
            work = asyncio.ensure_future(ask_all(first, QUESTIONS))
            while not first.batch.submitted:  # type: ignore[union-attr]
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            work.cancel()  # Ctrl-C (or a crash) while the batch is in progress
            with pytest.raises(asyncio.CancelledError):
                await work

        asyncio.run(stopped())
        assert len(server.batches) == 1
        open_batches = BatchStore(ResponseCache(cache)).open_batches()
        assert [b for b, _, _ in open_batches] == ["batch_0"]

        again = batch_client(server, cache, endpoint)
        results = asyncio.run(ask_all(again, QUESTIONS))
        assert [r.text for r in results] == [f"answer {i}" for i in range(6)]  # type: ignore[union-attr]
        assert len(server.batches) == 1  # polled the same batch: never submitted twice
        assert again.batch.submitted == []  # type: ignore[union-attr]

        last = batch_client(server, cache, endpoint)
        assert all(r.cached for r in asyncio.run(ask_all(last, QUESTIONS)))  # type: ignore[union-attr]
    assert len(server.batches) == 1 and len(server.batch_lines) == 6


def test_batch_created_just_before_a_crash_is_found_not_resubmitted(tmp_path: Path) -> None:
    import openai

    cache = tmp_path / "c.sqlite"
    with ScriptedServer(batch_script=BatchScript(line=answer_by_question({}))) as server:
        endpoint = endpoint_for(server.base_url, kind="remote")
        client = batch_client(server, cache, endpoint)
        keys = [client.key(ask(q), PARAMS) for q in QUESTIONS]
        # What the crashed process did: upload, record the pending row, create; no confirm.
        raw = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        body = b"".join(request_line(k, "test-model", ask(q), PARAMS)
                        for k, q in zip(keys, QUESTIONS, strict=True))
        upload = raw.files.create(file=("r.jsonl", body), purpose="batch")
        BatchStore(ResponseCache(cache)).add_pending(upload.id, keys, 1)
        raw.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                           completion_window="24h")
        raw.close()

        results = asyncio.run(ask_all(client, QUESTIONS))
    assert [r.text for r in results] == [f"answer {i}" for i in range(6)]  # type: ignore[union-attr]
    assert len(server.batches) == 1 and client.batch.submitted == []  # type: ignore[union-attr]


def test_endpoint_without_batch_api_says_so(tmp_path: Path) -> None:
    from datagen.errors import EndpointError

    with ScriptedServer(batch_api=False) as server:
        client = batch_client(server, tmp_path / "c.sqlite")
        results = asyncio.run(ask_all(client, QUESTIONS[:2]))
    assert all(isinstance(r, EndpointError) and "no Batch API" in (r.hint or "")
               for r in results)
    assert server.requests == [] and server.batches == {}


def test_an_oversize_line_fails_its_call_and_counts_as_failed(tmp_path: Path) -> None:
    """A batch line whose answer passes llm.max_answer_bytes is not cached, not resubmitted,
    and counts as a failed call, as a line that failed with a 400 does."""
    def line(batch: int, i: int, body: dict[str, Any]) -> Reply | None:
        q = int(body["messages"][-1]["content"].split()[-1])
        if q == 1:
            return Reply("x" * 70_000)
        if q == 2:
            return Reply("bad", status=400)
        return Reply(f"answer {q}")

    with ScriptedServer(batch_script=BatchScript(line=line)) as server:
        client = batch_client(server, tmp_path / "c.sqlite")
        assert client.batch is not None
        client.batch.max_answer_bytes = 65_536
        results = asyncio.run(ask_all(client, QUESTIONS[:4]))
    assert isinstance(results[1], LLMCallError) and results[1].reason.startswith("oversize")
    assert isinstance(results[2], LLMCallError)
    assert len(server.batches) == 1  # neither is resubmitted
    assert len(client.cache) == 2
    assert (client.usage.requests, client.usage.failures) == (2, 2)
    assert client.usage.by_status == {"oversize": 1, "http_400": 1}
