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


def completion_fields(resp: Any, model: str) -> dict[str, Any]:
    """The columns datagen keeps from a chat completion (an SDK object or a Batch API line)."""
    choice = resp.choices[0]
    usage = resp.usage
    return {
        "text": choice.message.content,
        "finish_reason": choice.finish_reason,
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "model": resp.model or model,
    }
