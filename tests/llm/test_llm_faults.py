"""The fault suite: each case against a real loopback server, through the real openai client.

Every case asserts the outcome, how many requests reached the server, and that a completed call
is never made again (a second ask is a cache hit with no new request)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from datagen.errors import EndpointError
from datagen.llm.retry import MAX_RETRY_AFTER_S, retry_after_s
from datagen.llm.wire import LLMCallError
from tests.llm.helpers import PARAMS, ask, make_client
from tests.scripted_server import Reply, ScriptedServer


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


async def twice(client, text: str = "hello"):  # noqa: ANN001, ANN202
    """Ask, then ask again: the second answer must come from the cache."""
    try:
        first = await client.chat(ask(text), params=PARAMS)
        second = await client.chat(ask(text), params=PARAMS)
    finally:
        await client.aclose()
    assert not first.cached and second.cached
    assert second.text == first.text
    return first


def script(*replies: Reply):  # noqa: ANN201
    """Replies in order; the last one repeats."""
    return lambda body, n: replies[min(n, len(replies) - 1)]


def test_429_with_retry_after_ms_is_waited_for(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(status=429, headers={"retry-after-ms": "400"}),
                               Reply("fine"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        started = time.perf_counter()
        done = run(twice(client))
        elapsed = time.perf_counter() - started
    assert done.text == "fine"
    assert elapsed >= 0.4  # the server's wait, not our 10 ms backoff
    assert len(server.requests) == 2
    assert client.usage.retries == 1 and client.usage.by_status == {"429": 1}


def test_retry_after_beyond_the_sdk_cap_is_honoured() -> None:
    client = make_client("http://127.0.0.1:9/v1")
    assert retry_after_s({"retry-after": "300"}) == 300
    assert retry_after_s({"retry-after-ms": "250000"}) == 250
    assert retry_after_s({"retry-after": "1e400"}) == MAX_RETRY_AFTER_S
    assert retry_after_s({"retry-after": "nonsense"}) is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
    assert 590 <= retry_after_s({"retry-after": date}) <= 601
    wait = client.backoff_s(1, 300.0)
    assert 300 <= wait <= 301  # not clipped to the SDK's 120 s, not replaced by our backoff


def test_500_503_burst_is_retried(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(status=500), Reply(status=503), Reply(status=502),
                               Reply("back"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        done = run(twice(client))
    assert done.text == "back" and len(server.requests) == 4
    assert client.usage.by_status == {"500": 1, "503": 1, "502": 1}


def test_retries_run_out(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(status=503))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", max_retries=2)
        with pytest.raises(LLMCallError, match="http_503: gave up after 3 attempts"):
            run(client.chat(ask(), params=PARAMS))
    assert len(server.requests) == 3
    assert len(client.cache) == 0  # a failure is not cached: a rerun asks again


@pytest.mark.parametrize("status", [400, 422])
def test_bad_request_fails_once_without_retry(tmp_path: Path, status: int) -> None:
    with ScriptedServer(script(Reply("bad field", status=status))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        with pytest.raises(LLMCallError, match=f"http_{status}"):
            run(client.chat(ask(), params=PARAMS))
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_missing_model_stop_the_run(status: int) -> None:
    with ScriptedServer(script(Reply("no", status=status))) as server:
        client = make_client(server.base_url)
        with pytest.raises(EndpointError, match=f"answered {status}") as info:
            run(client.chat(ask(), params=PARAMS))
    assert info.value.hint
    assert len(server.requests) == 1


def test_slow_response_beyond_the_timeout(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply("late", delay_s=3.0), Reply("on time"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", timeout_s=0.3)
        started = time.perf_counter()
        done = run(twice(client))
        elapsed = time.perf_counter() - started
    assert done.text == "on time"
    assert elapsed < 2.5  # the first attempt was abandoned at the deadline, not waited for
    assert len(server.requests) == 2 and client.usage.by_status == {"timeout": 1}


def test_connection_reset_mid_response(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(reset=True), Reply("whole"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        done = run(twice(client))
    assert done.text == "whole" and len(server.requests) == 2
    assert client.usage.by_status == {"connection": 1}


def test_malformed_json_body(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(raw_body=b'{"id": "chatcmpl-1", "choi'),
                               Reply(raw_body=b'{"id": "chatcmpl-2", "choices": []}'),
                               Reply("parsed"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        done = run(twice(client))
    assert done.text == "parsed" and len(server.requests) == 3
    assert client.usage.by_status == {"bad_body": 2}


def test_empty_content_is_an_answer_not_a_retry(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply(None), Reply("never asked"))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        done = run(twice(client))
    assert done.text is None and len(server.requests) == 1
    assert client.usage.retries == 0


def test_finish_reason_length_is_kept(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply("cut off mid", finish_reason="length",
                                     completion_tokens=20))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        done = run(twice(client))
    assert done.finish_reason == "length" and done.completion_tokens == 20
    assert len(server.requests) == 1


def test_ctrl_c_cancels_in_flight_and_keeps_completed(tmp_path: Path) -> None:
    def slow_unless_fast(body: dict, n: int) -> Reply:
        text = body["messages"][-1]["content"]
        return Reply(text, delay_s=0.0 if text.startswith("fast") else 6.0)

    with ScriptedServer(slow_unless_fast) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite", max_concurrency=8)

        async def interrupted() -> None:
            texts = ["fast 1", "fast 2", "slow 1", "slow 2", "slow 3"]
            work = asyncio.gather(*(client.chat(ask(t), params=PARAMS) for t in texts))
            await asyncio.sleep(0.5)
            work.cancel()  # what asyncio.run does on Ctrl-C
            with pytest.raises(asyncio.CancelledError):
                await work
            await client.aclose()

        started = time.perf_counter()
        run(interrupted())
        assert time.perf_counter() - started < 4.0  # did not wait for the slow ones
        assert len(client.cache) == 2  # the completed calls are kept

        rerun = make_client(server.base_url, tmp_path / "c.sqlite", endpoint=client.endpoint)

        async def resume() -> list:
            try:
                return await asyncio.gather(*(rerun.chat(ask(f"fast {i}"), params=PARAMS)
                                              for i in (1, 2)))
            finally:
                await rerun.aclose()

        assert all(c.cached for c in run(resume()))
    fast = [r for r in server.requests if r["messages"][-1]["content"].startswith("fast")]
    assert len(fast) == 2  # never asked again


def peak_counter() -> tuple[Any, list[int]]:
    """A scripted handler that takes 50 ms a request, and the peak of requests in flight."""
    active, peak, lock = [0], [0], threading.Lock()

    def counting(body: dict, n: int) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Reply("ok")

    return counting, peak


def test_concurrency_is_bounded_across_clients(tmp_path: Path) -> None:
    counting, peak = peak_counter()

    with ScriptedServer(counting) as server:
        first = make_client(server.base_url, max_concurrency=4)
        second = make_client(server.base_url, max_concurrency=4, endpoint=first.endpoint)

        async def both() -> None:
            await asyncio.gather(*(c.chat(ask(f"q{i}"), params=PARAMS)
                                   for i in range(12) for c in (first, second)))
            await first.aclose()
            await second.aclose()

        run(both())
    assert len(server.requests) == 24
    assert peak[0] <= 4  # one gate per endpoint, not one per client


def test_requests_per_minute_limit(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply("ok"))) as server:
        client = make_client(server.base_url, requests_per_minute=1200, max_concurrency=64)

        async def burst() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(client.chat(ask(f"q{i}"), params=PARAMS) for i in range(30)))
            await client.aclose()
            return time.perf_counter() - started

        elapsed = run(burst())
    # 20/s with a one-second burst of 20: the last 10 wait about 0.5 s
    assert elapsed >= 0.45 and client.usage.rate_wait_s > 0
    assert len(server.requests) == 30


def test_tokens_per_minute_limit(tmp_path: Path) -> None:
    with ScriptedServer(script(Reply("ok"))) as server:
        client = make_client(server.base_url, tokens_per_minute=60_000, max_concurrency=64)
        per_request = client.tokens_needed(ask("q0"), PARAMS)

        async def burst() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(client.chat(ask(f"q{i}"), params=PARAMS) for i in range(60)))
            await client.aclose()
            return time.perf_counter() - started

        elapsed = run(burst())
    # 1,000 tokens/s with a bucket of 1,000: the rest of the tokens take their time
    expected = (60 * per_request - 1000) / 1000
    assert per_request == 20 + 9  # max_tokens + the prompt (3 + 1 + 2 + 3 framing), exactly
    assert elapsed >= 0.8 * expected


def _in_thread(coro_fn, results: list) -> threading.Thread:  # noqa: ANN001
    """Run a coroutine on its own loop in a worker thread, as Prefect's thread runner does."""
    def target() -> None:
        try:
            results.append(asyncio.run(coro_fn()))
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_ctrl_c_cancels_requests_in_worker_threads(tmp_path: Path) -> None:
    import os
    import signal

    from datagen.llm.interrupt import cancel_on_signals

    with ScriptedServer(script(Reply("slow", delay_s=8.0))) as server:
        client = make_client(server.base_url, tmp_path / "c.sqlite")
        results: list = []

        async def work() -> object:
            try:
                return await asyncio.gather(*(client.chat(ask(f"q{i}"), params=PARAMS)
                                              for i in range(3)))
            finally:
                await client.aclose()

        started = time.perf_counter()
        with pytest.raises(KeyboardInterrupt), cancel_on_signals():
            thread = _in_thread(work, results)
            while len(server.requests) < 3:
                time.sleep(0.02)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the main thread
            time.sleep(8)
        thread.join(8)
    assert time.perf_counter() - started < 5.0
    assert isinstance(results[0], asyncio.CancelledError)
    assert len(client.cache) == 0 and len(server.requests) == 3


def test_concurrency_is_bounded_across_threads() -> None:
    counting, peak = peak_counter()

    with ScriptedServer(counting) as server:
        endpoint = make_client(server.base_url).endpoint
        results: list = []

        def worker(tag: str):  # noqa: ANN202
            async def run_one() -> None:
                client = make_client(server.base_url, max_concurrency=3, endpoint=endpoint)
                await asyncio.gather(*(client.chat(ask(f"{tag}{i}"), params=PARAMS)
                                       for i in range(9)))
                await client.aclose()
            return run_one

        threads = [_in_thread(worker(t), results) for t in "abc"]
        for t in threads:
            t.join(30)
    assert results == [None, None, None]
    assert len(server.requests) == 27 and peak[0] <= 3
