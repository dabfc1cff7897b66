"""Token counts, prices, usage and the budget cap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from datagen.config import LLMConfig, ModelPrice
from datagen.errors import BudgetExceeded
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.pricing import price_for
from datagen.llm.tokens import count_chat_tokens, count_tokens, encoding_name, is_exact
from tests.llm.helpers import PARAMS, ask, endpoint_for
from tests.scripted_server import Reply, ScriptedServer

# OpenAI's published example for counting chat tokens: 129 prompt tokens on cl100k models,
# 124 on o200k models.
COOKBOOK = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
     "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more "
     "bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean "
     "for the client deliverable."},
]


def test_token_counts_match_openai_offline() -> None:
    from datagen.llm.tokens import encoding

    assert encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
    assert count_chat_tokens(COOKBOOK, "gpt-4") == 129
    assert count_chat_tokens(COOKBOOK, "gpt-3.5-turbo") == 129
    assert count_chat_tokens(COOKBOOK, "gpt-4o-mini") == 124
    assert count_chat_tokens(COOKBOOK, "ft:gpt-4o-mini-2024-07-18:org::abc") == 124
    assert count_tokens("<|endoftext|>", "gpt-4o") > 1  # special text counts as text


def test_model_to_encoding() -> None:
    assert encoding_name("gpt-4o-2024-08-06") == "o200k_base"
    assert encoding_name("gpt-4-turbo") == "cl100k_base"
    assert encoding_name("gpt-4.1-mini") == "o200k_base"  # not gpt-4's cl100k
    assert encoding_name("o3-mini") == "o200k_base"
    assert is_exact("gpt-5-nano") and not is_exact("smollm2")


def test_prices() -> None:
    mini = price_for("gpt-4o-mini-2024-07-18", "openai")
    assert (mini.input, mini.output, mini.source) == (0.15, 0.60, "built-in")
    assert mini.cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert price_for("gpt-4o-mini", "openai", batch=True).cost(1_000_000, 0) == 0.075
    local = price_for("gpt-4o-mini", "local")
    assert local.free and "local model" in local.note
    unknown = price_for("mystery-70b", "remote")
    assert unknown.free and "no price known" in unknown.note and "llm.prices" in unknown.note
    mine = price_for("mystery-70b", "remote", {"mystery": ModelPrice(input=1, output=2)})
    assert (mine.input, mine.output, mine.source) == (1, 2, "config")


_ENDPOINTS: dict[str, object] = {}


def priced_client(server: ScriptedServer, cache: Path, cap: float | None) -> LLMClient:
    """A remote endpoint at $1000 per 1M tokens; one endpoint identity per server (a rerun)."""
    llm = LLMConfig(prices={"test-model": ModelPrice(input=1000, output=1000)},
                    max_cost_usd=cap, max_retries=0)
    endpoint = _ENDPOINTS.setdefault(server.base_url,
                                     endpoint_for(server.base_url, kind="remote"))
    return LLMClient.for_run(endpoint, ResponseCache(cache), llm, max_concurrency=1)


def test_usage_and_cost_come_from_the_endpoint(tmp_path: Path) -> None:
    reply = Reply("priced", prompt_tokens=100, completion_tokens=50)
    with ScriptedServer(lambda b, n: reply) as server:
        client = priced_client(server, tmp_path / "c.sqlite", None)

        async def go() -> None:
            for i in range(3):
                await client.chat(ask(f"q{i}"), params=PARAMS)
            await client.aclose()

        asyncio.run(go())
    assert client.usage.prompt_tokens == 300 and client.usage.completion_tokens == 150
    assert client.usage.cost_usd == pytest.approx(3 * 150 * 1000 / 1e6)
    assert client.cache.spent_usd() == pytest.approx(client.usage.cost_usd)


def test_budget_stops_before_exceeding_and_resumes(tmp_path: Path) -> None:
    # Each request: prompt 9 tokens + a 20-token allowance = at most $0.029; costs $0.015.
    reply = Reply("priced", prompt_tokens=10, completion_tokens=5)
    cache = tmp_path / "c.sqlite"
    with ScriptedServer(lambda b, n: reply) as server:
        client = priced_client(server, cache, cap=0.1)
        done: list[str] = []

        async def go(c: LLMClient) -> None:
            try:
                for i in range(10):
                    await c.chat(ask(f"q{i}"), params=PARAMS)
                    done.append(f"q{i}")
            finally:
                await c.aclose()

        with pytest.raises(BudgetExceeded) as info:
            asyncio.run(go(client))
        paid = len(server.requests)
        assert paid == len(done) == 5  # 5 x 0.015 + 0.029 worst case > 0.1: the 6th waits
        assert client.cache.spent_usd() <= 0.1
        assert "rerun the same command" in info.value.hint
        assert "$0.0750 spent" in info.value.message

        # The same cap again: nothing more is spent (the spend is read from the run folder).
        with pytest.raises(BudgetExceeded):
            asyncio.run(go(priced_client(server, cache, cap=0.1)))
        assert len(server.requests) == paid

        # A higher cap continues where it stopped; paid answers come from the cache.
        done.clear()
        again = priced_client(server, cache, cap=1.0)
        asyncio.run(go(again))
    assert len(done) == 10 and again.usage.cache_hits == 5
    assert len(server.requests) == 10
