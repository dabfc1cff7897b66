"""`datagen doctor`: which endpoint and model, whether a key was found, and one live call."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from datagen.config import LLMConfig
from datagen.errors import EndpointError
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import configured_base_url, open_endpoint
from datagen.llm.wire import LLMCallError
from datagen.secrets import redact_url


def check(llm: LLMConfig) -> dict[str, Any]:
    configured = configured_base_url(llm)
    report: dict[str, Any] = {
        "endpoint": redact_url(configured) if configured else "embedded (no endpoint configured)",
        "key": f"${llm.api_key_env} is set" if os.environ.get(llm.api_key_env)
        else f"${llm.api_key_env} is not set",
    }
    started = time.perf_counter()
    with open_endpoint(llm) as endpoint:
        report["kind"] = endpoint.kind
        report["model"] = endpoint.model

        async def ping() -> Any:
            client = LLMClient(endpoint, None, max_retries=1, timeout_s=llm.timeout_s)
            try:
                return await client.chat([{"role": "user", "content": "Say hello."}],
                                         params={"max_tokens": 8, "temperature": 0})
            finally:
                await client.aclose()

        try:
            done = asyncio.run(ping())
        except LLMCallError as exc:
            raise EndpointError(f"{report['endpoint']} did not answer a chat request: "
                                f"{exc.reason}",
                                hint="check the server's log; the model may not be loaded") \
                from None
    report["round trip"] = (f"ok in {time.perf_counter() - started:.2f} s, "
                            f"{done.completion_tokens} tokens: {(done.text or '').strip()[:40]!r}")
    return report
