"""The SDK's HTTP client a run's requests go out on: aiohttp by default (`llm.transport`),
httpx by config, one TLS context per process."""

from __future__ import annotations

import functools
import ssl
from urllib.parse import urlsplit

import httpx2
import openai


def http_client(transport: str, max_concurrency: int, timeout_s: float,
                base_url: str) -> httpx2.AsyncClient:
    """The SDK's HTTP client on `transport`, its pool as large as the concurrency allows.
    aiohttp refuses a URL with a user and password next to the SDK's bearer header, so such
    an endpoint (a proxy with basic auth) goes through httpx, which sends the URL's."""
    pool = httpx2.Limits(max_connections=max_concurrency,
                         max_keepalive_connections=max_concurrency)
    kwargs = {"limits": pool, "timeout": timeout_s, "verify": _tls()}
    if transport == "httpx" or urlsplit(base_url).username is not None:
        return openai.DefaultAsyncHttpxClient(**kwargs)
    return openai.DefaultAioHttpClient(**kwargs)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~30 ms, and a run makes a
    client per stage task."""
    return httpx2.create_ssl_context()
