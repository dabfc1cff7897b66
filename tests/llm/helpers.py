"""Helpers for the LLM layer tests: endpoints on a scripted loopback server, one per test."""

from __future__ import annotations

import itertools
from typing import Any

from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint

_IDS = itertools.count()


def endpoint_for(base_url: str, *, model: str = "test-model", kind: str = "local",
                 api_key: str = "sk-no-key-needed") -> Endpoint:
    """A fresh endpoint identity per call, so process-wide limits never leak between tests."""
    return Endpoint(base_url=base_url, model=model, kind=kind,
                    identity=f"test:{next(_IDS)}", api_key=api_key)


def make_client(base_url: str, cache_path: Any = None, **kwargs: Any) -> LLMClient:
    """A client with test-sized backoffs and timeout."""
    endpoint = kwargs.pop("endpoint", None) or endpoint_for(base_url)
    kwargs.setdefault("backoff_base_s", 0.01)
    kwargs.setdefault("backoff_max_s", 0.05)
    kwargs.setdefault("timeout_s", 5.0)
    cache = ResponseCache(cache_path) if cache_path is not None else None
    return LLMClient(endpoint, cache, **kwargs)


def ask(text: str = "hello") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


PARAMS = {"temperature": 0.0, "max_tokens": 20}


_WORDS = (
    "agreement vendor supplier customer employee contractor licence software privacy breach "
    "notice renewal termination payment invoice liability warranty indemnity dispute court "
    "arbitration consent disclosure audit security retention deletion partner affiliate "
    "merger consultant investor budget report patent trademark prototype tenant landlord "
    "lender borrower insurer broker distributor franchise patient hospital portfolio deposit"
).split()


def _words(seed: str, n: int) -> str:
    import random

    rng = random.Random(seed)
    return " ".join(rng.sample(_WORDS, n))


def world(body: dict[str, Any], n: int, delay_s: float = 0.0) -> Any:
    """A deterministic model for whole runs: distinct English instructions for expansion
    calls, a distinct answer for each instruction (derived from a hash of the request)."""
    import re

    from tests.scripted_server import Reply

    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    key = user + repr(body.get("temperature"))
    m = re.search(r"Write (\d+) new requests", user)
    if m:
        items = [f"Draft a clause about the {_words(f'{key}:{i}', 8)} for our contract."
                 for i in range(int(m.group(1)))]
        return Reply("\n".join(f"{k}. {t}" for k, t in enumerate(items, 1)), delay_s=delay_s)
    return Reply(f"Here is the clause you asked for. The {_words(key, 10)} shall remain "
                 f"confidential, and the parties agree to notify each other in writing.",
                 delay_s=delay_s)


def ask_in_worker(base_url: str, identity: str, cache_path: str, n: int, tag: str,
                  **limits: Any) -> dict[str, Any]:
    """One stage's worth of calls from a worker process, as a Dask task runs them: its own
    client on the run folder's cache; how many were answered and refused by the budget."""
    import asyncio
    import os

    from datagen.llm.wire import Completion

    endpoint = Endpoint(base_url=base_url, model="test-model", kind="local", identity=identity)
    client = LLMClient(endpoint, ResponseCache(cache_path), max_concurrency=8, max_retries=0,
                       **limits)

    async def many() -> list[Any]:
        try:
            return await asyncio.gather(*(client.chat(ask(f"{tag} {i}"), params=PARAMS)
                                          for i in range(n)), return_exceptions=True)
        finally:
            await client.aclose()

    done = asyncio.run(many())
    return {"pid": os.getpid(), "answered": sum(isinstance(d, Completion) for d in done),
            "refused": client.usage.by_status.get("budget_refused", 0)}
