"""Answers no larger than `llm.max_answer_bytes`, counted while the body is read.

An endpoint that answers with tens of megabytes (a server that ignores `max_tokens`, a proxy's
error page, a hostile host) would otherwise be read whole, cached and copied into every stage
result: a run folder grew by gigabytes in minutes. The SDK's HTTP client, on either transport
(aiohttp or httpx), gets a response hook through httpx's public `event_hooks`: a body whose
`Content-Length` passes the bound is refused before any of it is read, and any other body is
counted as it streams in and cut off the moment it passes the bound (the connection is
dropped, not drained). The request then fails as `oversize`: not retried, not cached.

The count is of the bytes on the wire. A compressed body is also checked once decoded
(`check_size`), so what is stored is bounded either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2

# About a million tokens of English: far above any `max_tokens` a chat model is given.
DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024


class AnswerTooLarge(Exception):
    """A response body passed the bound; `seen` is how many bytes had arrived (or were
    announced by Content-Length) when it was cut off."""

    def __init__(self, limit: int, seen: int) -> None:
        super().__init__(f"oversize: the answer passed llm.max_answer_bytes = {limit:,} bytes "
                         f"({seen:,} bytes when it was cut off)")
        self.limit = limit
        self.seen = seen


class _Bounded(httpx2.AsyncByteStream):
    """A response stream that raises `AnswerTooLarge` once more than `limit` bytes arrived."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise AnswerTooLarge(self._limit, seen)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def answer_bound(limit: int) -> Callable[[httpx2.Response], Awaitable[None]]:
    """A response hook (`event_hooks={"response": [...]}`) that bounds every body to `limit`
    bytes. It runs before the body is read; httpx closes the response if it raises."""

    async def bound(response: httpx2.Response) -> None:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise AnswerTooLarge(limit, int(length))
        response.stream = _Bounded(response.stream, limit)  # type: ignore[arg-type]

    return bound


def check_size(body: bytes, limit: int) -> None:
    """Raise `AnswerTooLarge` for a decoded body over `limit` (a compressed one passes the
    wire count at a fraction of its size)."""
    if len(body) > limit:
        raise AnswerTooLarge(limit, len(body))
