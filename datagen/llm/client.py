"""The async client every stage uses: cache first, then limits, then one place for retries.

A call goes: response cache (a hit costs nothing) -> the endpoint's concurrency gate -> the
budget (the worst case of this request must fit under `max_cost_usd`) -> the RPM/TPM token
buckets -> the request, with a per-request deadline. Retries are decided here and only here:
the SDK's own retries are off (`max_retries=0`) and Prefect tasks that call LLMs have no
retries of their own. 408/409/429/5xx, timeouts, dropped connections and unreadable bodies are
retried with jittered exponential backoff, honouring `Retry-After` and `retry-after-ms` at any
length (the SDK gives up above 120 s); 400/422 fail the one request, 401/403/404 stop the run.
An answer larger than `llm.max_answer_bytes` is cut off while it is read and fails the one
request as `oversize` (`llm.bounds`). A call counts as a request once an attempt gave a usable
answer; one whose attempts all failed (unreadable bodies included) counts as one failure.

Every answer is written to the cache the moment it arrives, with what it cost, so a crash,
Ctrl-C or budget stop loses nothing that was paid for. In Batch API mode (`batch=`) the request
is queued for `datagen.llm.batch` instead of being sent.

A fast server (vLLM, SGLang) answers hundreds of requests a second, and then the client's own
CPU per request is the ceiling. So a request here goes out on the SDK's aiohttp transport
(`llm.transport`; httpx by config) through the SDK's low-level `post`, which keeps its auth,
URL and error mapping but skips the pydantic round trips on the way out and back: the answer
is read from the JSON as it is. Prompt tokens are counted once per request, and only when a
limit needs them; the cache commits answers in groups in its writer thread. On 429 and 5xx
the concurrency window backs off and recovers (AIMD, `datagen.llm.limits.SharedGate`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import httpx2
import openai

from datagen.errors import BudgetExceeded, EndpointError
from datagen.llm import interrupt, limits
from datagen.llm.batch import BatchQueue
from datagen.llm.bounds import DEFAULT_MAX_ANSWER_BYTES, AnswerTooLarge, check_size
from datagen.llm.cache import ResponseCache, cache_key
from datagen.llm.endpoint import Endpoint
from datagen.llm.pricing import Price, price_for
from datagen.llm.retry import retry_after_s
from datagen.llm.tokens import count_chat_tokens
from datagen.llm.transport import shared_http_client
from datagen.llm.usage import Usage
from datagen.llm.wire import Completion, LLMCallError, completion_fields
from datagen.secrets import redact_url, scrub

if TYPE_CHECKING:
    from datagen.config import LLMConfig

log = logging.getLogger("datagen.llm")

RETRY_STATUS = {408, 409, 429}
FATAL_STATUS = {401, 403, 404}
DEFAULT_MAX_TOKENS = 1024  # the worst case assumed when a request names no max_tokens


def allowance(params: dict[str, Any]) -> int:
    """The completion tokens a request may use: its max_tokens, else a worst case."""
    return int(params.get("max_completion_tokens") or params.get("max_tokens")
               or DEFAULT_MAX_TOKENS)


class LLMClient:
    """Chat completions through `openai.AsyncOpenAI`: cached, bounded, rate-limited, priced."""

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
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        price: Price | None = None,
        max_cost_usd: float | None = None,
        batch: BatchQueue | None = None,
        transport: str = "aiohttp",
        adaptive: bool = True,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_concurrency = max_concurrency
        self.max_answer_bytes = max_answer_bytes
        self.price = price or price_for(endpoint.model, endpoint.kind)
        self.usage = Usage()
        self.batch = batch
        # With a run folder, rate limits and the budget hold for every process on it.
        shared = cache.path.resolve() if cache is not None else None
        self._limits = limits.rate_limits(endpoint.limits_key, requests_per_minute,
                                          tokens_per_minute, shared)
        self._budget: limits.Budget | None = None
        if max_cost_usd is not None:
            self._budget = limits.budget_for(
                str(shared or endpoint.identity), max_cost_usd,
                cache.spent_usd if cache is not None else (lambda: 0.0), shared)
        self._gate = limits.gate(endpoint.limits_key, max_concurrency, adaptive)
        self._backoffs = 0
        self._inflight = 0
        self._closed = False
        self._idle: asyncio.Event | None = None
        http, self._shared_http = shared_http_client(transport, max_concurrency, timeout_s,
                                                     endpoint.base_url, max_answer_bytes)
        self._client = openai.AsyncOpenAI(**endpoint.sdk_args(), max_retries=0,
                                          timeout=timeout_s, http_client=http)

    def status(self) -> str:
        """Requests in flight and the live totals, for a progress bar."""
        return f"{self._inflight} in flight, {self.usage.line()}"

    @classmethod
    def for_run(cls, endpoint: Endpoint, cache: ResponseCache | None, llm: LLMConfig, *,
                max_concurrency: int | None = None, **kwargs: Any) -> LLMClient:
        """A client with every limit of the run config's `llm` section."""
        price = price_for(endpoint.model, endpoint.kind, llm.prices, batch=llm.batch)
        batch = None
        if llm.batch:
            if cache is None:
                raise ValueError("Batch API mode needs a response cache for its results")
            batch = BatchQueue(endpoint, cache, price, poll_s=llm.batch_poll_s,
                               max_resubmits=llm.max_retries,
                               max_answer_bytes=llm.max_answer_bytes)
        return cls(
            endpoint, cache, max_concurrency=max_concurrency or llm.max_concurrency,
            timeout_s=llm.timeout_s, max_retries=llm.max_retries,
            requests_per_minute=llm.max_requests_per_minute,
            tokens_per_minute=llm.max_tokens_per_minute,
            price=price, max_cost_usd=llm.max_cost_usd, batch=batch,
            transport=llm.transport, adaptive=llm.adaptive_concurrency,
            max_answer_bytes=llm.max_answer_bytes, **kwargs,
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
        # A sampling seed derived from the cache key: endpoints that honour `seed` (llama.cpp,
        # vLLM, OpenAI on a best-effort basis) then give the same answer to the same request.
        params = {"seed": int(key[:8], 16) & 0x7FFFFFFF, **params}
        if self._closed:  # a sibling failed and the stage closed us: send nothing more
            raise LLMCallError("client_closed: the stage stopped before this request was sent")
        prompt = self._prompt_tokens(messages)
        if self.batch is not None:
            reserved = self._reserve(prompt, params)
            try:
                with interrupt.in_flight():
                    result, cost = await self.batch.submit(key, messages, params,
                                                           self.endpoint.model)
            except BaseException as exc:
                self._settle(reserved, 0.0)
                if isinstance(exc, LLMCallError):  # a line that failed for good, as live
                    self.usage.failures += 1
                    self._count(exc.reason.split(":", 1)[0])
                raise
            self.usage.requests += 1
            self._account(result, cost, reserved)
            return Completion(key=key, cached=False, **result)
        async with self._gate.slot() as slot:
            if self._closed:
                raise LLMCallError("client_closed: the stage stopped before this request was sent")
            self._enter()
            try:
                with interrupt.in_flight():
                    reserved = self._reserve(prompt, params)
                    try:
                        result = await self._call_with_retries(messages, params, prompt, slot)
                    except BaseException:
                        self._settle(reserved, 0.0)
                        raise
                    cost = self.price.cost(result["prompt_tokens"], result["completion_tokens"])
                    self._account(result, cost, reserved)  # paid for, whatever the disk says
                    if self.cache is not None:
                        await self.cache.write(key, result, cost_usd=cost)
            finally:
                self._leave()
        return Completion(key=key, cached=False, **result)

    def _prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens, counted once per request and only when a limit holds them."""
        tpm = self._limits is not None and self._limits.tokens is not None
        if tpm or (self._budget is not None and not self.price.free):
            return count_chat_tokens(messages, self.endpoint.model)
        return 0

    def tokens_needed(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> int:
        """Prompt tokens plus the completion allowance: what rate limits and budgets hold."""
        return count_chat_tokens(messages, self.endpoint.model) + allowance(params)

    def _reserve(self, prompt: int, params: dict[str, Any]) -> float:
        if self._budget is None:
            return 0.0
        worst = 0.0
        if not self.price.free:
            worst = self.price.cost(prompt, allowance(params))
        if not self._budget.reserve(worst):
            self._count("budget_refused")  # stages stop their run on this count
            b = self._budget
            raise BudgetExceeded(
                f"stopped before passing llm.max_cost_usd = ${b.cap:.4f}: ${b.spent:.4f} spent "
                f"so far in this run folder, ${b.reserved:.4f} held for requests in flight, and "
                f"the next request may cost up to ${worst:.4f}",
                hint="every answer so far is kept in the run folder's cache; raise "
                "llm.max_cost_usd (or --max-cost-usd) and rerun the same command to continue: "
                "cached calls are not paid for again",
            )
        return worst

    def _settle(self, reserved: float, actual: float) -> None:
        if self._budget is not None:
            self._budget.settle(reserved, actual)

    def _account(self, result: dict[str, Any], cost: float, reserved: float) -> None:
        self.usage.prompt_tokens += result["prompt_tokens"]
        self.usage.completion_tokens += result["completion_tokens"]
        self.usage.cost_usd += cost
        self._settle(reserved, cost)

    def _enter(self) -> None:
        self._inflight += 1
        if self._idle is None:
            self._idle = asyncio.Event()
        self._idle.clear()

    def _leave(self) -> None:
        self._inflight -= 1
        if self._inflight == 0 and self._idle is not None:
            self._idle.set()

    def backoff_s(self, attempt: int, retry_after: float | None) -> float:
        """The wait before retry number `attempt`: the server's word if it gave one (with a
        little jitter so clients don't return in lockstep), else jittered exponential."""
        if retry_after is not None:
            return retry_after + random.uniform(0, min(1.0, retry_after * 0.1))
        wait = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(wait / 2, wait)

    async def _call_with_retries(
        self, messages: list[dict[str, Any]], params: dict[str, Any], prompt: int,
        slot: limits.Slot,
    ) -> dict[str, Any]:
        attempt = 0
        needed = prompt + allowance(params)
        while True:
            wait: float | None = None
            if self._limits is not None:
                self.usage.rate_wait_s += await self._limits.acquire(needed)
            epoch = self._gate.epoch
            try:
                result = await self._call(messages, params)
                self._gate.answered()
                return result
            except openai.APIStatusError as exc:
                status = exc.status_code
                self._count(str(status))
                if status in FATAL_STATUS:
                    raise self._fatal(exc) from None
                if status not in RETRY_STATUS and status < 500:
                    self.usage.failures += 1
                    raise LLMCallError(f"http_{status}: {self._message(exc)}") from None
                if (status == 429 or status >= 500) and self._gate.overloaded(epoch):
                    self._backoffs += 1
                wait = retry_after_s(exc.response.headers)
                reason = f"http_{status}"
            except AnswerTooLarge as exc:  # the same request would be as large again: no retry
                self._count("oversize")
                self.usage.failures += 1
                raise LLMCallError(str(exc)) from None
            except (openai.APITimeoutError, TimeoutError):
                reason = "timeout"
                self._count(reason)
            except openai.APIConnectionError:
                reason = "connection"
                self._count(reason)
            except (openai.APIResponseValidationError, ValueError):
                reason = "bad_body"  # a 200 whose body is not a completion (or not JSON)
                self._count(reason)
            attempt += 1
            if attempt > self.max_retries or self._closed:
                self.usage.failures += 1
                raise LLMCallError(f"{reason}: gave up after {attempt} attempts")
            self.usage.retries += 1
            slot.pause()  # others may go while this one waits, within the (maybe cut) window
            await asyncio.sleep(self.backoff_s(attempt, wait))
            await slot.resume()
            if self._closed:
                self.usage.failures += 1
                raise LLMCallError(f"{reason}: the stage stopped before retry {attempt}")

    async def _call(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        body = {"model": self.endpoint.model, "messages": messages, **params}
        async with asyncio.timeout(self.timeout_s):  # the whole request, not each read
            resp = await self._client.post("/chat/completions", body=body,
                                           cast_to=httpx2.Response)
        self.usage.seconds += time.perf_counter() - started
        content = resp.content
        check_size(content, self.max_answer_bytes)  # decoded: a compressed body counts whole
        data = json.loads(content)  # ValueError on a body that is not JSON: bad_body
        if not isinstance(data, dict) or not data.get("choices"):
            raise ValueError("no choices in the response")
        result = completion_fields(data, self.endpoint.model)
        # counted once usable: a call whose every attempt was unusable is one failure, not
        # requests that succeeded (the failed share, `llm.max_failed_share`, counts on it)
        self.usage.requests += 1
        return result

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
        """Close, after letting requests already on the wire finish (and be cached): a stage
        that stops on an error or the budget keeps what it paid for. A cancelled run (Ctrl-C)
        has cancelled them already."""
        self._closed = True
        if self._backoffs:
            g = self._gate
            log.info("adaptive concurrency for %s: backed off %d times on 429/5xx, window now "
                     "%d of llm.max_concurrency %d (lowest %d)", redact_url(self.endpoint.base_url),
                     self._backoffs, g.limit, g.size, g.lowest)
        if self._inflight and self._idle is not None:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=self.timeout_s)
            except TimeoutError:
                pass
        if self._budget is not None:
            self._budget.give_back()
        if self.batch is not None:
            await self.batch.aclose()
        if not self._shared_http:  # a shared one is closed by `shared_connections`
            await self._client.close()
