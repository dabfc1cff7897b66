"""What the client and the Batch API mode share: one request's outcome types and the columns
kept from a chat completion. Its own module so that `client` and `batch` both import it and
never each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    tool_calls: list[dict[str, Any]] | None = None  # as the wire has them, when the answer calls


def completion_fields(body: Any, model: str) -> dict[str, Any]:
    """The columns datagen keeps from a chat completion body (the JSON of an answer or of a
    Batch API line), read from the decoded JSON as it is: building the SDK's pydantic models
    for every answer costs more CPU than the rest of a request. A body that is not a chat
    completion raises ValueError (a retryable `bad_body`)."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
        usage = body.get("usage") or {}
        out = {
            "text": message.get("content"),
            "finish_reason": choice.get("finish_reason"),
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
            "model": body.get("model") or model,
        }
        if message.get("tool_calls"):  # only then: cached answers keep their old shape
            out["tool_calls"] = list(message["tool_calls"])
        return out
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a chat completion ({type(exc).__name__}: {exc})") from None
