"""Answers that call tools (a seed's `tools`): ask with `tools`, check each call, get each
call's result, and ask again with the results in context until the model answers in words.

A call must name a declared tool (`unknown_tool`) with arguments that parse as JSON and
validate against its parameters schema (`bad_arguments`). A result comes from the tool's
`call` (a Python function, run on a daemon thread under the seed's `tool_timeout_s`: a hang
is cut off and recorded), else from its `examples` (the one with the same arguments, else one
chosen by the arguments' hash), else from the model asked to play the tool. A tool that
fails, or a model that keeps calling, gives `tool_failed`. Whatever happened, the
conversation so far is returned, so a dropped record shows what the model did.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import xxhash

from datagen.llm.client import LLMClient
from datagen.llm.wire import Completion
from datagen.prompts import render
from datagen.reasons import DropReason
from datagen.seeds import SeedTask
from datagen.seeds.kinds import Tool, call_with_timeout, load_callable, result_text, schema_errors

PLAY_PROMPT = "tool_play.v1"
MAX_CALL_ROUNDS = 3  # answers with calls before the model must answer in words


@dataclass
class ToolAnswer:
    """The final answer (or the last one, when a check failed), the messages after the
    user's (assistant calls, tool replies, the final answer), and the verdict."""

    done: Completion
    turns: list[dict[str, Any]]
    calls: list[str] = field(default_factory=list)  # `name(arguments)`, for dedup keys
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def tool_specs(seed: SeedTask) -> list[dict[str, Any]]:
    return [t.openai() for t in seed.tools]


def check_call(call: Any, tools: dict[str, Tool]) -> tuple[str | None, dict[str, Any], Any]:
    """(drop reason or None, detail, parsed arguments) of one wire `tool_calls` entry."""
    fn = call.get("function") if isinstance(call, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str) or name not in tools:
        return str(DropReason.UNKNOWN_TOOL), {"tool": str(name)[:100]}, None
    try:
        args = json.loads(fn.get("arguments") or "{}")
    except (ValueError, TypeError) as exc:
        detail = {"tool": name, "error": f"not JSON: {exc}"[:200]}
        return str(DropReason.BAD_ARGUMENTS), detail, None
    errors = schema_errors(tools[name].function.parameters, args)
    if errors:
        return str(DropReason.BAD_ARGUMENTS), {"tool": name, "field": errors[0][0],
                                               "error": errors[0][1]}, None
    return None, {}, args


def wire_call(call: dict[str, Any], n: int) -> dict[str, Any]:
    """A checked call as the export writes it (an id when the server gave none)."""
    fn = call["function"]
    return {"id": str(call.get("id") or f"call_{n}"), "type": "function",
            "function": {"name": fn["name"], "arguments": fn.get("arguments") or "{}"}}


def example_result(tool: Tool, args: Any) -> Any:
    for ex in tool.examples:
        if ex.arguments == args:
            return ex.result
    pick = xxhash.xxh3_64_intdigest(json.dumps(args, sort_keys=True).encode())
    return tool.examples[pick % len(tool.examples)].result


async def play_tool(tool: Tool, args: Any, client: LLMClient,
                    params: dict[str, Any]) -> str:
    """The model's stand-in result for a tool with neither `call` nor `examples`."""
    clause = (f" that validates against this JSON schema: "
              f"{json.dumps(tool.result_schema, sort_keys=True)}" if tool.result_schema else "")
    ask = [{"role": "user", "content": render(
        PLAY_PROMPT, tool=tool.name, description=tool.function.description or "(no description)",
        arguments=json.dumps(args, ensure_ascii=False, sort_keys=True), schema_clause=clause)}]
    done = await client.chat(ask, params={k: v for k, v in params.items()
                                          if k not in ("tools", "response_format")})
    text = (done.text or "").strip()
    if not text:
        raise ValueError("the model playing the tool gave no result")
    if tool.result_schema is not None:
        try:
            errors = schema_errors(tool.result_schema, json.loads(text))
        except ValueError:
            errors = [("/", "not JSON")]
        if errors:
            raise ValueError(f"the played result breaks result_schema at {errors[0][0]}: "
                             f"{errors[0][1]}")
    return text


async def tool_result(tool: Tool, args: Any, seed: SeedTask, client: LLMClient,
                      params: dict[str, Any]) -> str:
    """The result text of one checked call; raises on a tool that failed or hung."""
    if tool.call:
        fut = call_with_timeout(load_callable(tool.call), args, seed.tool_timeout_s)
        try:
            value = await asyncio.wait_for(asyncio.wrap_future(fut), seed.tool_timeout_s)
        except TimeoutError:
            raise TimeoutError(f"{tool.call} did not return within "
                               f"{seed.tool_timeout_s:g} s") from None
        return result_text(value)
    if tool.examples:
        return result_text(example_result(tool, args))
    return await play_tool(tool, args, client, params)


async def answer_with_tools(client: LLMClient, messages: list[dict[str, Any]],
                            params: dict[str, Any], sample: int, seed: SeedTask) -> ToolAnswer:
    """The conversation of one request: calls, their results and the final answer. Raises
    `LLMCallError` only when a respond call fails (the record is then an `llm_error`)."""
    tools = {t.name: t for t in seed.tools}
    asked = {**params, "tools": tool_specs(seed)}
    convo = list(messages)
    turns: list[dict[str, Any]] = []
    calls: list[str] = []
    n = 0
    for _ in range(MAX_CALL_ROUNDS + 1):
        done = await client.chat(convo, params=asked, sample=sample)
        if not done.tool_calls:
            turns.append({"role": "assistant", "content": done.text or ""})
            return ToolAnswer(done, turns, calls)
        checked = []
        for call in done.tool_calls:
            reason, detail, args = check_call(call, tools)
            if reason:
                turns.append({"role": "assistant", "tool_calls": done.tool_calls})
                return ToolAnswer(done, turns, calls, reason, detail)
            checked.append((wire_call(call, n), args))
            n += 1
        said = {"role": "assistant", "tool_calls": [c for c, _ in checked]}
        if (done.text or "").strip():
            said["content"] = done.text
        turns.append(said)
        replies = []
        for call, args in checked:
            name = call["function"]["name"]
            calls.append(f"{name}({json.dumps(args, sort_keys=True, ensure_ascii=False)})")
            try:
                text = await tool_result(tools[name], args, seed, client, params)
            except Exception as exc:  # the user's function: anything can fail
                return ToolAnswer(done, turns, calls, str(DropReason.TOOL_FAILED),
                                  {"tool": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
            replies.append({"role": "tool", "tool_call_id": call["id"], "content": text})
        turns.extend(replies)
        convo = [*messages, *turns]
    return ToolAnswer(done, turns, calls, str(DropReason.TOOL_FAILED),
                      {"error": f"still calling tools after {MAX_CALL_ROUNDS} rounds"})
