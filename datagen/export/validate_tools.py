"""OpenAI's rules for function calling in a fine-tuning line, SFT (`tools` beside `messages`)
and preference (`tools` inside `input`) alike, and the tokens tools add.

The tools are function definitions with a name and an object `parameters` schema. An
assistant message's `tool_calls` each have an id, type `function`, a declared name and
arguments that are a JSON object in a string; such a message may come without content. Every
call is answered by a later `tool` message with the same `tool_call_id`, and every `tool`
message answers a call. Tokens: the definitions' JSON text (`tool_tokens`), which OpenAI bills
on every example that carries them, and each call's (`call_tokens`).
"""

from __future__ import annotations

import json
from typing import Any

from datagen.llm.tokens import count_chat_tokens, count_tokens

TOOL_ERROR_CLASSES = ("invalid_tools", "invalid_tool_call", "tool_call_unanswered",
                      "tool_message_unmatched")
TOOL_MESSAGE_KEYS = ("tool_calls", "tool_call_id")
TOOL_ROLE = "tool"


def tool_names(tools: Any) -> set[str] | None:
    """The declared function names of an example's `tools` (an empty set when it has none),
    or None when they are not function definitions as OpenAI takes them."""
    if tools is None:
        return set()
    if not isinstance(tools, list) or not tools:
        return None
    names = set()
    for t in tools:
        fn = t.get("function") if isinstance(t, dict) else None
        if not (isinstance(fn, dict) and t.get("type") == "function"
                and isinstance(fn.get("name"), str) and fn["name"]
                and isinstance(fn.get("parameters", {}), dict)):
            return None
        names.add(fn["name"])
    return names


def is_call(m: Any) -> bool:
    """Whether a message is an assistant's tool calls (which may come without content)."""
    return isinstance(m, dict) and "role" in m and bool(m.get("tool_calls"))


def _calls_valid(calls: Any, role: Any, declared: set[str]) -> bool:
    if role != "assistant" or not isinstance(calls, list) or not calls:
        return False
    for c in calls:
        fn = c.get("function") if isinstance(c, dict) else None
        if not (isinstance(fn, dict) and c.get("type") == "function"
                and isinstance(c.get("id"), str) and c["id"]
                and fn.get("name") in declared and isinstance(fn.get("arguments"), str)):
            return False
        try:
            if not isinstance(json.loads(fn["arguments"]), dict):
                return False
        except ValueError:
            return False
    return True


def _pairing_errors(msgs: list[Any]) -> list[str]:
    """Every call answered by a later `tool` message with its id; every `tool` message an
    answer to an earlier call."""
    open_ids: set[str] = set()
    found = []
    for m in msgs:
        if not isinstance(m, dict):
            continue
        for c in m.get("tool_calls") or []:
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                open_ids.add(c["id"])
        if m.get("role") == TOOL_ROLE:
            call_id = m.get("tool_call_id")
            if call_id in open_ids:
                open_ids.discard(call_id)
            elif "tool_message_unmatched" not in found:
                found.append("tool_message_unmatched")
        elif m.get("role") in ("user", "assistant") and open_ids and not m.get("tool_calls"):
            break  # the conversation went on with calls unanswered
    if open_ids:
        found.append("tool_call_unanswered")
    return found


def tool_errors(msgs: list[Any], tools: Any) -> list[str]:
    """The function-calling error classes of a chat and the tools it was given."""
    declared = tool_names(tools)
    found = [] if declared is not None else ["invalid_tools"]
    if any(isinstance(m, dict) and m.get("tool_calls") is not None
           and not _calls_valid(m["tool_calls"], m.get("role"), declared or set())
           for m in msgs):
        found.append("invalid_tool_call")
    return found + _pairing_errors(msgs)


def tool_tokens(tools: list[dict[str, Any]] | None, model: str) -> int:
    """Tokens of an example's tool definitions, as their JSON text (OpenAI renders them into
    the prompt in its own way: this is an estimate of the same size)."""
    return count_tokens(json.dumps(tools, ensure_ascii=False), model) if tools else 0


def call_tokens(m: dict[str, Any], model: str) -> int:
    """Tokens of a message's tool calls, as their JSON text (0 for a message without)."""
    return count_tokens(json.dumps(m["tool_calls"]), model) if m.get("tool_calls") else 0


def example_tokens(msgs: list[dict[str, Any]], model: str,
                   tools: list[dict[str, Any]] | None = None) -> tuple[int, int]:
    """(tokens of the whole example, tool definitions and calls included, tokens of its
    assistant messages) for `model`."""
    assistant = sum((count_tokens(m["content"], model) if isinstance(m.get("content"), str)
                     else 0) + call_tokens(m, model) for m in msgs if m.get("role") == "assistant")
    plain = [{k: v for k, v in m.items() if k != "tool_calls" and v is not None} for m in msgs]
    return (count_chat_tokens(plain, model) + sum(call_tokens(m, model) for m in msgs)
            + tool_tokens(tools, model), assistant)
