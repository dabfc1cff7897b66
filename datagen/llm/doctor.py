"""`datagen doctor`: which endpoint and model, whether a key was found, and one live call.

A diagnostic must answer quickly: each step (listing the models, one chat completion) waits
at most `DOCTOR_WAIT_S` (or `llm.timeout_s`, if shorter), once, without retries, and says
what it is waiting for before it waits. An endpoint that accepts the connection and never
answers ends in one line naming the URL and what to check, with the endpoint exit code.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from datagen.config import LLMConfig
from datagen.console import console, esc
from datagen.errors import EndpointError
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import configured_base_url, open_endpoint
from datagen.llm.wire import LLMCallError
from datagen.secrets import redact_url

DOCTOR_WAIT_S = 10.0


def check(llm: LLMConfig) -> dict[str, Any]:
    configured = configured_base_url(llm)
    shown = redact_url(configured) if configured else "embedded (no endpoint configured)"
    report: dict[str, Any] = {
        "endpoint": shown,
        "key": f"${llm.api_key_env} is set" if os.environ.get(llm.api_key_env)
        else f"${llm.api_key_env} is not set",
    }
    # the embedded model is started and waited for by datagen itself: only an endpoint
    # elsewhere can hang
    wait = min(llm.timeout_s, DOCTOR_WAIT_S) if configured else llm.timeout_s
    quick = llm.model_copy(update={"timeout_s": wait})
    started = time.perf_counter()
    if configured:
        console.print(f"doctor: listing the models at {esc(shown)}/models "
                      f"(waiting up to {wait:g} s)")
    with open_endpoint(quick, retries=0) as endpoint:
        report["kind"] = endpoint.kind
        report["model"] = endpoint.model
        where = redact_url(endpoint.base_url)
        console.print(f"doctor: asking {esc(endpoint.model)} for one chat completion at "
                      f"{esc(where)}/chat/completions (waiting up to {wait:g} s)")

        async def ping() -> Any:
            client = LLMClient(endpoint, None, max_retries=0, timeout_s=wait,
                               max_answer_bytes=llm.max_answer_bytes)
            try:
                return await client.chat([{"role": "user", "content": "Say hello."}],
                                         params={"max_tokens": 8, "temperature": 0})
            finally:
                await client.aclose()

        try:
            done = asyncio.run(ping())
        except LLMCallError as exc:
            if exc.reason.startswith("timeout"):
                raise EndpointError(
                    f"{where} accepted the connection but did not answer a chat request "
                    f"within {wait:g} s",
                    hint="check that the server at this URL is up and not stuck or "
                    "overloaded, that the model is loaded, and its log (a run waits longer "
                    f"for each answer: llm.timeout_s = {llm.timeout_s:g} s)") from None
            raise EndpointError(f"{where} did not answer a chat request: {exc.reason}",
                                hint="check the server's log; the model may not be loaded") \
                from None
    report["round trip"] = (f"ok in {time.perf_counter() - started:.2f} s, "
                            f"{done.completion_tokens} tokens: {(done.text or '').strip()[:40]!r}")
    return report
