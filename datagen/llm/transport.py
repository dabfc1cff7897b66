"""The SDK's HTTP client a run's requests go out on: aiohttp by default (`llm.transport`),
httpx by config, one TLS context per process.

A run makes a client per stage call (up to one per answer batch in flight at once). Within
`shared_connections` (the generation rounds), the clients made on its event loop with the same
settings share one HTTP client and its kept-alive connections, instead of each opening its own
(~150 connection pools in a 10,000-pair run, a few requests per connection: a server pays for
every new connection, and so does the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from datagen.llm.bounds import DEFAULT_MAX_ANSWER_BYTES, answer_bound


@dataclass
class _Shared:
    loop: asyncio.AbstractEventLoop
    clients: dict[tuple[Any, ...], httpx2.AsyncClient] = field(default_factory=dict)


_SHARED: contextvars.ContextVar[_Shared | None] = contextvars.ContextVar("datagen_http_shared",
                                                                         default=None)


@contextlib.asynccontextmanager
async def shared_connections() -> AsyncIterator[None]:
    """Clients made inside, on this event loop, share HTTP clients (closed on the way out)."""
    shared = _Shared(asyncio.get_running_loop())
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)
        for client in shared.clients.values():
            await client.aclose()


def shared_http_client(transport: str, max_concurrency: int, timeout_s: float, base_url: str,
                       max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
                       ) -> tuple[httpx2.AsyncClient, bool]:
    """`http_client(...)`, or the one already made with these settings inside
    `shared_connections` on this loop; True when shared (its owner closes it, not the SDK
    client that uses it)."""
    shared = _SHARED.get()
    try:
        here = shared is not None and asyncio.get_running_loop() is shared.loop
    except RuntimeError:  # no running loop: a client made outside any run
        here = False
    if not here:
        return http_client(transport, max_concurrency, timeout_s, base_url,
                           max_answer_bytes), False
    assert shared is not None
    key = (transport, max_concurrency, timeout_s, base_url, max_answer_bytes)
    if key not in shared.clients:
        shared.clients[key] = http_client(transport, max_concurrency, timeout_s, base_url,
                                          max_answer_bytes)
    return shared.clients[key], True


def http_client(transport: str, max_concurrency: int, timeout_s: float, base_url: str,
                max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES) -> httpx2.AsyncClient:
    """The SDK's HTTP client on `transport`, its pool as large as the concurrency allows, every
    answer bounded to `max_answer_bytes` while it is read (`datagen.llm.bounds`).
    aiohttp refuses a URL with a user and password next to the SDK's bearer header, so such
    an endpoint (a proxy with basic auth) goes through httpx, which sends the URL's."""
    pool = httpx2.Limits(max_connections=max_concurrency,
                         max_keepalive_connections=max_concurrency)
    kwargs = {"limits": pool, "timeout": timeout_s, "verify": _tls(),
              "event_hooks": {"response": [answer_bound(max_answer_bytes)]}}
    if transport == "httpx" or urlsplit(base_url).username is not None:
        return openai.DefaultAsyncHttpxClient(**kwargs)
    return openai.DefaultAioHttpClient(**kwargs)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~30 ms, and a run makes a
    client per stage task."""
    return httpx2.create_ssl_context()
