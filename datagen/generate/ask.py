"""One list-making call with one repair step, shared by every strategy.

A weak model's answer is read strictly, then leniently; when neither works the same request is
sent once more with the bad answer and the parse error shown to the model. What happened is
returned so it can be recorded on the records (`parse`, `repair`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datagen.generate.parse import format_line, parse_list
from datagen.llm.client import LLMClient
from datagen.llm.wire import Completion, LLMCallError
from datagen.prompts import render

REPAIR_PROMPT = "repair.v1"
REPAIR_SHOWN_CHARS = 1500


@dataclass
class Asked:
    """Items of one call, how they were read, and the repair attempt if there was one."""

    items: list[str]
    parse: str
    done: Completion
    repair: dict[str, Any] = field(default_factory=dict)

    @property
    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"call": self.done.key, "parse": self.parse,
                               "call_finish_reason": self.done.finish_reason}
        if self.repair:
            out["repair"] = self.repair
        return out


async def ask_list(client: LLMClient, messages: list[dict[str, str]], params: dict[str, Any],
                   *, sample: int, mode: str, key: str = "instructions", what: str = "requests",
                   single: bool = False) -> Asked:
    """Ask, parse, and repair once. Raises `LLMCallError` only when the first call fails."""
    done = await client.chat(messages, params=params, sample=sample)
    items, how, error = parse_list(done.text, mode, key, single=single)
    if items:
        return Asked(items, how, done)
    retry = [*messages,
             {"role": "assistant", "content": (done.text or "")[:REPAIR_SHOWN_CHARS]},
             {"role": "user", "content": render(REPAIR_PROMPT, error=error,
                                                format=format_line(mode, key, what=what,
                                                                   single=single))}]
    try:
        again = await client.chat(retry, params=params, sample=sample)
    except LLMCallError as exc:  # the first answer is still recorded, as failed
        return Asked([], how, done, {"error": error, "ok": False, "retry_error": exc.reason})
    items, how2, error2 = parse_list(again.text, mode, key, single=single)
    repair = {"error": error, "ok": bool(items), "call": again.key, "parse": how2}
    if error2:
        repair["retry_parse_error"] = error2
    return Asked(items, "repaired" if items else "failed", again if items else done, repair)
