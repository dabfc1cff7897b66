"""OpenAI Batch API mode: the same requests, answered within 24 h at half price.

`LLMClient.chat` hands each cache miss to a `BatchQueue`. The queue waits until a stage has
queued all its requests (no new one for `flush_after_s`), then:

1. adopts batches the run folder already knows for any of these requests (a crashed or
   stopped process resumes polling them; it never submits a request twice);
2. writes the rest as request JSONL, split at 50,000 requests or 200 MB per file, uploads
   each with `purpose="batch"`, creates the batch and records its id in the run folder's
   cache database (table `batches`) the moment it exists;
3. polls every `poll_s`, printing progress when it changes;
4. reads the output and error files into the response cache, the same cache as live calls;
5. resubmits only the lines that failed for a reason worth retrying (429, 5xx, expired),
   up to `max_resubmits` times; a 4xx line fails that one request.

The control calls (upload, create, retrieve, download) are not chat requests: for them the
SDK's own retries are the one retry layer.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any

import openai

from datagen.console import console
from datagen.errors import EndpointError
from datagen.llm.bounds import DEFAULT_MAX_ANSWER_BYTES
from datagen.llm.cache import ResponseCache
from datagen.llm.endpoint import Endpoint
from datagen.llm.pricing import Price
from datagen.llm.wire import LLMCallError, completion_fields
from datagen.secrets import redact_url, scrub

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
TERMINAL = {"completed", "failed", "expired", "cancelled"}
RETRYABLE_LINE = {408, 409, 429, 500, 502, 503, 504}
ENDPOINT = "/v1/chat/completions"


def request_line(key: str, model: str, messages: list[dict[str, Any]],
                 params: dict[str, Any]) -> bytes:
    body = {"model": model, "messages": messages, **params}
    line = {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def split_files(lines: list[bytes], max_requests: int = MAX_REQUESTS,
                max_bytes: int = MAX_BYTES) -> list[list[bytes]]:
    """Group request lines into files within the Batch API's limits."""
    files: list[list[bytes]] = [[]]
    size = 0
    for line in lines:
        if files[-1] and (len(files[-1]) >= max_requests or size + len(line) > max_bytes):
            files.append([])
            size = 0
        files[-1].append(line)
        size += len(line)
    return [f for f in files if f]


class BatchStore:
    """Batch ids and the requests in each, in the run folder's cache database."""

    def __init__(self, cache: ResponseCache) -> None:
        self._conn = sqlite3.connect(cache.path, timeout=60, isolation_level=None)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, input_file_id TEXT,"
            " status TEXT NOT NULL, attempt INTEGER NOT NULL, keys TEXT NOT NULL,"
            " created REAL NOT NULL)")

    def add_pending(self, input_file_id: str, keys: list[str], attempt: int) -> str:
        """Recorded before `batches.create`: a crash between create and `confirm` leaves this
        row, and the next process finds the batch by its input file instead of resubmitting."""
        pending = f"pending:{input_file_id}"
        self._conn.execute(
            "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?)",
            (pending, input_file_id, "pending", attempt, json.dumps(keys), time.time()))
        return pending

    def confirm(self, pending: str, batch_id: str) -> None:
        self._conn.execute("UPDATE batches SET id = ?, status = 'submitted' WHERE id = ?",
                           (batch_id, pending))

    def pending(self) -> list[tuple[str, str]]:
        """(row id, input file id) of batches whose creation was not confirmed."""
        return self._conn.execute(
            "SELECT id, input_file_id FROM batches WHERE status = 'pending'").fetchall()

    def forget(self, row_id: str) -> None:
        self._conn.execute("DELETE FROM batches WHERE id = ?", (row_id,))

    def set_status(self, batch_id: str, status: str) -> None:
        self._conn.execute("UPDATE batches SET status = ? WHERE id = ?", (status, batch_id))

    def open_batches(self) -> list[tuple[str, int, set[str]]]:
        """Batches whose results were not yet read: (id, attempt, keys)."""
        rows = self._conn.execute(
            "SELECT id, attempt, keys FROM batches WHERE status NOT IN ('ingested', 'pending')"
        ).fetchall()
        return [(bid, attempt, set(json.loads(keys))) for bid, attempt, keys in rows]

    def attempts(self, key: str) -> int:
        """How many batches this request was already part of (for resubmission limits)."""
        return self._conn.execute(
            "SELECT COUNT(*) FROM batches, json_each(batches.keys) WHERE json_each.value = ?",
            (key,)).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class BatchQueue:
    """Collects one stage's requests and answers them through the Batch API."""

    def __init__(self, endpoint: Endpoint, cache: ResponseCache, price: Price, *,
                 poll_s: float = 30.0, max_resubmits: int = 3, flush_after_s: float = 0.5,
                 max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES,
                 max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES) -> None:
        self.endpoint, self.cache, self.price = endpoint, cache, price
        self.poll_s, self.max_resubmits, self.flush_after_s = poll_s, max_resubmits, flush_after_s
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.max_answer_bytes = max_answer_bytes
        self.store = BatchStore(cache)
        self.submitted: list[str] = []  # batch ids this queue created (tests, reports)
        self._waiting: dict[str, asyncio.Future[tuple[dict[str, Any], float]]] = {}
        self._queued: dict[str, bytes] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._last = 0.0
        self._client = openai.AsyncOpenAI(**endpoint.sdk_args(), max_retries=3, timeout=300)

    async def submit(self, key: str, messages: list[dict[str, Any]], params: dict[str, Any],
                     model: str) -> tuple[dict[str, Any], float]:
        """The answer and its cost, once the batch holding this request is done."""
        fut = self._waiting.get(key)
        if fut is None:
            fut = self._waiting[key] = asyncio.get_running_loop().create_future()
            self._queued[key] = request_line(key, model, messages, params)
            self._last = time.monotonic()
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush_when_quiet())
        return await asyncio.shield(fut)

    async def _flush_when_quiet(self) -> None:
        while time.monotonic() - self._last < self.flush_after_s:
            await asyncio.sleep(self.flush_after_s / 4)
        queued, self._queued = self._queued, {}
        try:
            try:
                await self.run(queued)
            except openai.APIStatusError as exc:
                raise self._endpoint_error(exc) from None
        except BaseException as exc:  # hand the error to every request that waits on it
            for key in queued:
                fut = self._waiting.pop(key, None)
                if fut is not None and not fut.done():
                    if isinstance(exc, Exception):
                        fut.set_exception(exc)
                    else:
                        fut.cancel()
            if not isinstance(exc, Exception):
                raise

    async def run(self, lines: dict[str, bytes]) -> None:
        """Adopt known batches, submit the rest, poll, read results, resubmit failures."""
        todo = dict(lines)
        await self._confirm_pending()
        jobs: list[tuple[str, int, set[str]]] = []
        for batch_id, attempt, keys in self.store.open_batches():
            mine = keys & todo.keys()
            if mine:
                jobs.append((batch_id, attempt, keys))
                console.print(f"batch {batch_id}: resuming ({len(mine)} requests)")
                for k in mine:
                    todo.pop(k)
        if todo:
            jobs += await self._create(todo, attempt=1)
        while jobs:
            retry: dict[str, bytes] = {}
            done = await asyncio.gather(*(self._follow(bid, keys) for bid, _, keys in jobs))
            for (_, attempt, keys), failed in zip(jobs, done, strict=True):
                for key, reason, retryable in failed:
                    if key not in self._waiting:
                        continue
                    if retryable and attempt <= self.max_resubmits and key in lines:
                        retry[key] = lines[key]
                    else:
                        self._fail(key, reason)
                for key in keys - {k for k, _, _ in failed}:
                    self._resolve(key)
            next_attempt = 1 + max(a for _, a, _ in jobs)
            jobs = await self._create(retry, attempt=next_attempt) if retry else []

    async def _create(self, lines: dict[str, bytes], attempt: int) -> list[tuple[str, int, set]]:
        jobs = []
        keys = list(lines)
        for chunk in split_files([lines[k] for k in keys], self.max_requests, self.max_bytes):
            chunk_keys, keys = keys[:len(chunk)], keys[len(chunk):]
            upload = await self._client.files.create(
                file=("requests.jsonl", b"".join(chunk)), purpose="batch")
            pending = self.store.add_pending(upload.id, chunk_keys, attempt)
            batch = await self._client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
                metadata={"created_by": "datagen", "attempt": str(attempt)})
            self.store.confirm(pending, batch.id)
            self.submitted.append(batch.id)
            console.print(f"batch {batch.id}: submitted {len(chunk)} requests"
                          + (f" (resubmission {attempt - 1})" if attempt > 1 else ""))
            jobs.append((batch.id, attempt, set(chunk_keys)))
        return jobs

    async def _confirm_pending(self) -> None:
        """Find batches created just before a crash, by their input file."""
        rows = self.store.pending()
        if not rows:
            return
        by_input = {}
        async for batch in self._client.batches.list(limit=100):
            by_input.setdefault(batch.input_file_id, batch.id)
        for row_id, input_file_id in rows:
            if input_file_id in by_input:
                self.store.confirm(row_id, by_input[input_file_id])
                console.print(f"batch {by_input[input_file_id]}: found after a crash")
            else:
                self.store.forget(row_id)  # never created: its requests are submitted anew

    async def _follow(self, batch_id: str, keys: set[str]) -> list[tuple[str, str, bool]]:
        """Poll until the batch ends; read its results. Returns the failed (key, reason,
        retryable) lines; every other key of the batch is in the cache."""
        shown = None
        while True:
            batch = await self._client.batches.retrieve(batch_id)
            counts = batch.request_counts
            now = (batch.status, counts and (counts.completed, counts.failed, counts.total))
            if now != shown:
                c = f" {counts.completed}/{counts.total} done, {counts.failed} failed" \
                    if counts else ""
                console.print(f"batch {batch_id}: {batch.status}{c}")
                shown = now
            self.store.set_status(batch_id, batch.status)
            if batch.status in TERMINAL:
                break
            await asyncio.sleep(self.poll_s)
        failed: list[tuple[str, str, bool]] = []
        seen: set[str] = set()
        if batch.output_file_id:
            for row in await self._lines(batch.output_file_id):
                seen.add(row["custom_id"])
                failed += self._ingest(row)
        if batch.error_file_id:
            for row in await self._lines(batch.error_file_id):
                if row["custom_id"] in seen:
                    continue
                seen.add(row["custom_id"])
                failed += self._ingest(row)
        for key in keys - seen:  # never reached: expired or cancelled before its turn
            failed.append((key, f"batch_{batch.status}", batch.status != "failed"))
        if batch.status == "failed":
            errors = getattr(batch, "errors", None)
            why = "; ".join(str(e.message) for e in (errors.data or [])) if errors else ""
            failed = [(k, f"batch_failed: {why[:200]}", False) for k, _, _ in failed]
        self.store.set_status(batch_id, "ingested")
        return failed

    async def _lines(self, file_id: str) -> list[dict[str, Any]]:
        content = await self._client.files.content(file_id)
        return [json.loads(line) for line in content.text.splitlines() if line.strip()]

    def _ingest(self, row: dict[str, Any]) -> list[tuple[str, str, bool]]:
        key = row["custom_id"]
        resp = row.get("response") or {}
        status = resp.get("status_code")
        if status == 200:
            body = resp.get("body") or {}
            try:
                result = completion_fields(body, self.endpoint.model)
            except ValueError:
                return [(key, "bad_body", True)]
            if len((result["text"] or "").encode()) > self.max_answer_bytes:  # never stored
                return [(key, f"oversize: the answer passed llm.max_answer_bytes = "
                              f"{self.max_answer_bytes:,} bytes", False)]
            cost = self.price.cost(result["prompt_tokens"], result["completion_tokens"])
            self.cache.put(key, result, cost_usd=cost)
            return []
        error = row.get("error") or (resp.get("body") or {}).get("error") or {}
        code = error.get("code") or (f"http_{status}" if status else "error")
        retryable = status in RETRYABLE_LINE or code in ("batch_expired", "batch_cancelled")
        return [(key, f"{code}: {str(error.get('message', ''))[:200]}", retryable)]

    def _resolve(self, key: str) -> None:
        fut = self._waiting.pop(key, None)
        if fut is None or fut.done():
            return
        hit = self.cache.get(key)
        if hit is None:
            self._fail(key, "missing: the batch output had no line for this request")
            return
        fut.set_result((hit, self.price.cost(hit["prompt_tokens"], hit["completion_tokens"])))

    def _fail(self, key: str, reason: str) -> None:
        fut = self._waiting.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_exception(LLMCallError(reason))

    def _endpoint_error(self, exc: openai.APIStatusError) -> EndpointError:
        where = redact_url(self.endpoint.base_url)
        said = scrub(str(getattr(exc, "message", "") or exc), self.endpoint.api_key)[:300]
        hint = ("this endpoint has no Batch API (/v1/files, /v1/batches): run without --batch"
                if exc.status_code in (404, 405) else
                "check the key in the env variable named by llm.api_key_env")
        return EndpointError(f"Batch API at {where} answered {exc.status_code}: {said}",
                             hint=hint)

    async def aclose(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        self.store.close()
        await self._client.close()
