"""A scripted model for seeds with `output_schema`, `tools` and `turns`, over real HTTP
(`ScriptedServer`), deterministic per request. Some answers are wrong on purpose, chosen by a
hash of the request, so every drop reason of these shapes has something to find:

- an answer asked with a response format is JSON that validates, or (1 in 5) broken JSON, or
  (1 in 5) an object without its required `total`;
- a request with `tools` gets calls in the real wire format: one or two valid calls, none
  (1 in 5: the model answers in words), a call of an undeclared tool (1 in 10) or arguments
  that break the parameters schema (1 in 10); once the tool replies are in, a final answer;
- the model playing a tool gives a JSON result, the model playing the user a follow-up, whose
  answer is cut off (`finish_reason: length`) 1 time in 4 (generation drops it), or else a
  refusal 1 time in 4 (curation's answer checks, run over every turn, drop it).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from tests.flows.world import WORDS, verdict
from tests.scripted_server import Reply, tool_call

_N = re.compile(r"Write (\d+) new requests")
SCHEMA = {"type": "object", "required": ["customer", "total", "items"],
          "properties": {"customer": {"type": "string"}, "total": {"type": "number"},
                         "items": {"type": "array", "items": {"type": "string"}}}}
TOOLS = [
    {"type": "function", "function": {
        "name": "get_order", "description": "Look up an order by its number.",
        "parameters": {"type": "object", "required": ["order_id"],
                       "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]+$"}}}},
     "examples": [{"arguments": {"order_id": "A100"},
                   "result": {"status": "shipped", "eta": "2 days"}}]},
    {"type": "function", "function": {
        "name": "refund", "description": "Refund an amount on an order.",
        "parameters": {"type": "object", "required": ["order_id", "amount"],
                       "properties": {"order_id": {"type": "string"},
                                      "amount": {"type": "number", "minimum": 0}}}},
     "result_schema": {"type": "object", "required": ["ok"],
                       "properties": {"ok": {"type": "boolean"}}}},
]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _last_user(body: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def prose(rng: random.Random) -> str:
    return (f"Thank you for asking. The {_words(rng, 10)} is settled now, and the "
            f"{_words(rng, 10)} will follow in writing within the week.")


def _calls(rng: random.Random) -> Reply | None:
    roll = rng.random()
    order = f"A{rng.randrange(100, 999)}"
    if roll < 0.2:
        return None  # this request needs no tool
    if roll < 0.3:
        return Reply(None, "tool_calls", tool_calls=[tool_call("cancel_order", {"id": order},
                                                               "call_x")])
    if roll < 0.4:
        return Reply(None, "tool_calls", tool_calls=[tool_call("get_order", {"order": 7},
                                                               "call_b")])
    calls = [tool_call("get_order", {"order_id": order}, "call_1")]
    if roll > 0.7:
        calls.append(tool_call("refund", {"order_id": order, "amount": 12.5}, "call_2"))
    return Reply(None, "tool_calls", tool_calls=calls)


def handler(body: dict[str, Any], n: int) -> Reply:
    msgs = body["messages"]
    system = msgs[0]["content"] if msgs[0]["role"] == "system" else ""
    if "strict reviewer of training data" in system:
        return Reply(verdict(_last_user(body)))
    user = _last_user(body)
    rng = random.Random(json.dumps(msgs, sort_keys=True) + repr(body.get("seed")))
    if m := _N.search(user):  # expansion: distinct requests
        return Reply("\n".join(f"{k}. Please help with order {rng.randrange(10**6)}: the "
                               f"{_words(rng, 8)}." for k in range(1, int(m.group(1)) + 1)))
    if user.startswith("You stand in for the function"):
        return Reply(json.dumps({"ok": True}))
    if user.startswith("You play the user"):
        return Reply(f"Could you say more about the {_words(rng, 5)}?")
    if "response_format" in body:
        roll = rng.random()
        if roll < 0.2:
            return Reply('{"customer": "Ann", "total": ')  # cut off: not JSON
        value: dict[str, Any] = {"customer": _words(rng, 2), "total": rng.randrange(5, 500),
                                 "items": [_words(rng, 2) for _ in range(rng.randrange(1, 4))]}
        if roll < 0.4:
            del value["total"]
        return Reply(json.dumps(value))
    if user.startswith("Could you say more"):
        roll = rng.random()
        if roll < 0.25:
            return Reply("The answer to that is", "length")  # a later turn cut off
        if roll < 0.45:
            return Reply("I'm sorry, but I can't share more about the "
                         f"{_words(rng, 4)} in this conversation.")
    if body.get("tools"):
        if msgs[-1]["role"] == "tool":
            return Reply(prose(rng))
        calls = _calls(rng)
        if calls is not None:
            return calls
    return Reply(prose(rng))
