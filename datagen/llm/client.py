"""The async client every stage uses: cache first, bounded concurrency, one place for retries.

Retries are decided here and only here: the SDK's own retries are off (`max_retries=0`) and
Prefect tasks that call LLMs have no retries of their own. 408/409/429/5xx, timeouts and
dropped connections are retried with jittered exponential backoff, honouring `Retry-After` and
`retry-after-ms` at any length; 400/401/403/404/422 are never retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import openai

from datagen.errors import EndpointError
from datagen.llm.cache import ResponseCache, cache_key
from datagen.llm.endpoint import Endpoint, redact_url

RETRY_STATUS = {408, 409, 429}
FATAL_STATUS = {401, 403, 404}


class LLMCallError(Exception):
    """One request failed for good (a 400, or retries exhausted). The run goes on without it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Completion:
    key: str
    text: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str
    cached: bool


@dataclass
class Usage:
    """Counters of a client's life: what was asked, answered, reused and retried."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retry_after_s(headers: Any) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def scrub(text: str, secret: str) -> str:
    """Remove a secret (and its usual masked prefixes) from text that will be shown."""
    if secret and len(secret) >= 8:
        text = text.replace(secret, "***").replace(secret[:8], "***")
    return text


class LLMClient:
    """Chat completions through `openai.AsyncOpenAI`, cached and bounded."""

    def __init__(
        self,
        endpoint: Endpoint,
        cache: ResponseCache | None = None,
        *,
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 6,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.usage = Usage()
        self._sem = asyncio.Semaphore(max_concurrency)
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key,
            max_retries=0, timeout=timeout_s,
        )

    def key(self, messages: list[dict[str, Any]], params: dict[str, Any], sample: int = 0) -> str:
        return cache_key(self.endpoint.identity, self.endpoint.model, messages, params, sample)

    async def chat(
        self, messages: list[dict[str, Any]], *, params: dict[str, Any], sample: int = 0
    ) -> Completion:
        """One chat completion; `params` are passed to the API (temperature, max_tokens, ...)."""
        key = self.key(messages, params, sample)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.usage.cache_hits += 1
            return Completion(key=key, cached=True, **hit)
        async with self._sem:
            result = await self._call_with_retries(messages, params)
        if self.cache is not None:
            self.cache.put(key, result)
        return Completion(key=key, cached=False, **result)

    async def _call_with_retries(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            wait: float | None = None
            try:
                return await self._call(messages, params)
            except openai.APIStatusError as exc:
                status = exc.status_code
                self._count(str(status))
                if status in FATAL_STATUS:
                    raise self._fatal(exc) from None
                if status not in RETRY_STATUS and status < 500:
                    self.usage.failures += 1
                    raise LLMCallError(f"http_{status}: {self._message(exc)}") from None
                wait = retry_after_s(exc.response.headers)
                reason = f"http_{status}"
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                reason = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection"
                self._count(reason)
            except openai.APIResponseValidationError:
                self._count("bad_body")
                reason = "bad_body"
            attempt += 1
            if attempt > self.max_retries:
                self.usage.failures += 1
                raise LLMCallError(f"{reason}: gave up after {attempt} attempts")
            self.usage.retries += 1
            if wait is None:
                wait = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
                wait = random.uniform(wait / 2, wait)
            await asyncio.sleep(wait)

    async def _call(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        resp = await self._client.chat.completions.create(
            model=self.endpoint.model, messages=messages, **params  # type: ignore[arg-type]
        )
        self.usage.seconds += time.perf_counter() - started
        self.usage.requests += 1
        if not getattr(resp, "choices", None):
            raise openai.APIResponseValidationError(
                response=None, body=None, message="no choices in the response"  # type: ignore[arg-type]
            )
        choice = resp.choices[0]
        usage = resp.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        return {
            "text": choice.message.content,
            "finish_reason": choice.finish_reason,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "model": resp.model or self.endpoint.model,
        }

    def _count(self, what: str) -> None:
        self.usage.by_status[what] = self.usage.by_status.get(what, 0) + 1

    def _message(self, exc: openai.APIStatusError) -> str:
        return scrub(str(getattr(exc, "message", "") or exc), self.endpoint.api_key)[:300]

    def _fatal(self, exc: openai.APIStatusError) -> EndpointError:
        where = redact_url(self.endpoint.base_url)
        hints = {
            401: "check the key in the env variable named by llm.api_key_env",
            403: "the key has no access to this model or endpoint",
            404: f"check --model ({self.endpoint.model!r}) and --base-url",
        }
        return EndpointError(
            f"{where} answered {exc.status_code}: {self._message(exc)}",
            hint=hints[exc.status_code],
        )

    async def aclose(self) -> None:
        await self._client.close()
