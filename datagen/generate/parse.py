"""Structured output: which dialect to ask for, a bounded schema, and strict/lenient parsing.

Measured on the embedded model: JSON mode without bounds fails 2 of 3 times while a bounded
schema (maxLength on every string, min/maxItems) parsed 5 of 5; plain numbered lists parse
better than its JSON mode. So every schema here is bounded, and every parser has a strict
reading (what we asked for) and a lenient one (what weak models actually write).
"""

from __future__ import annotations

import json
import re
from typing import Any

from datagen.config import LLMConfig

MAX_ITEM_CHARS = 300
JSON_MODES = ("json_schema", "json_object")

_NUMBER_PREFIX = re.compile(r"^(?:\d{1,3}\s*[.):\-]\s*)+")
_MARKER = re.compile(r"^\s*\d{1,3}\s*[.):\-](?:\s+(.*?))?\s*$")
_COUNT = re.compile(r"\d{1,3}[.)]?")
_BULLET = re.compile(r"^\s*(?:\d{1,3}\s*[.):\-]|[-*\u2022]|#{1,6})\s+(.+?)\s*$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.){3,})"')
_LABEL = re.compile(r"^(?:new|rewritten|evolved|final)?\s*(?:request|instruction|prompt|"
                    r"question|message|follow-up)\s*:\s*", re.IGNORECASE)


def structured_mode(llm: LLMConfig, endpoint_kind: str) -> str:
    """Which structured-output dialect to ask for. llama.cpp rejects `json_schema` (HTTP 500)
    but takes `json_object` with a schema; unknown servers get plain numbered lists."""
    if llm.structured != "auto":
        return llm.structured
    # Measured on the embedded model: numbered lists parse far more often than its JSON mode.
    return "json_schema" if endpoint_kind == "openai" else "text"


def list_schema(n: int, key: str = "instructions", max_chars: int = MAX_ITEM_CHARS,
                min_chars: int | None = None) -> dict[str, Any]:
    """An object holding exactly `n` bounded strings under `key`. The lower bound keeps a
    grammar-constrained weak model from filling the list with "..." (instructions: 10 chars,
    short topic or persona phrases: 3)."""
    if min_chars is None:
        min_chars = 10 if key == "instructions" else 3
    return {
        "type": "object",
        "properties": {
            key: {
                "type": "array",
                "items": {"type": "string", "minLength": min_chars, "maxLength": max_chars},
                "minItems": n,
                "maxItems": n,
            }
        },
        "required": [key],
        "additionalProperties": False,
    }


def response_format(mode: str, n: int, key: str = "instructions",
                    max_chars: int = MAX_ITEM_CHARS) -> dict[str, Any] | None:
    schema = list_schema(n, key, max_chars)
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": key, "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def format_line(mode: str, key: str = "instructions", *, what: str = "requests",
                single: bool = False) -> str:
    """The last line of a prompt: how to write the answer down."""
    if mode in JSON_MODES:
        shape = f'{{"{key}": ["..."]}}' if single else f'{{"{key}": ["...", "..."]}}'
        return f"Answer with JSON only: {shape}."
    if single:
        return f"Answer with the new {what.rstrip('s')} only, with no label and no quotes."
    return (f"Answer with a numbered list (1. 2. 3. ...) of the {what}, one per line, "
            "and nothing else.")


def _clean(item: str) -> str:
    return _NUMBER_PREFIX.sub("", item).strip().strip('"').strip()


def _strict_json(text: str, key: str) -> tuple[list[str] | None, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        return None, f'JSON without a list under "{key}"'
    items = [x.strip() for x in data[key] if isinstance(x, str) and x.strip()]
    if not items:
        return None, f'the list under "{key}" holds no text'
    return items, ""


def _strict_list(text: str) -> tuple[list[str] | None, str]:
    """Numbered items. Two shapes SmolLM2 writes are read too: the number alone on its line
    with the item on the next line(s) ("1.\nDraft ..."), and its own running count after the
    number ("1. 2\nDraft ..."): the item is then the text block that follows, up to a blank
    line or the next number."""
    items: list[str] = []
    current: list[str] | None = None
    waiting = False  # a number without its text yet
    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            if current is not None:
                items.append(" ".join(current))
            rest = (m.group(1) or "").strip()  # "1." alone on its line: no group
            waiting = not rest or bool(_COUNT.fullmatch(rest))
            current = [] if waiting else [rest]
        elif current is not None and waiting and line.strip():
            current.append(line.strip())
        elif current is not None and waiting and current:  # a blank line ends the block
            waiting = False
    if current is not None:
        items.append(" ".join(current))
    items = [x for x in (_clean(i) for i in items) if x]
    return (items, "") if items else (None, "no numbered list (1. 2. 3.) found")


def _unquote(body: str) -> str:
    """A JSON string's text; raw newlines and bad escapes (weak models write both) kept as is."""
    try:
        return str(json.loads(f'"{body}"', strict=False)).strip()
    except json.JSONDecodeError:
        return body.strip()


def _lenient(text: str, key: str) -> list[str]:
    """What a weak model meant: JSON inside prose or fences, cut-off JSON, bullets."""
    body = re.sub(r"```(?:json)?", "", text)
    start, end = body.find("{"), body.rfind("}")
    if 0 <= start < end:
        items, _ = _strict_json(body[start:end + 1], key)
        if items:
            return items
    if "[" in body and '"' in body:  # cut-off JSON: keep the complete strings of the list
        tail = body[body.find("[") + 1:]
        items = [_unquote(m) for m in _QUOTED.findall(tail)]
        items = [x for x in items if x and x != key]
        if items:
            return items
    items = [_clean(m.group(1)) for line in body.splitlines() if (m := _BULLET.match(line))]
    return [x for x in items if x]


def parse_list(text: str | None, mode: str, key: str = "instructions",
               *, single: bool = False) -> tuple[list[str], str, str]:
    """Items, how they were read (`json`, `list`, `text`, `lenient`, or `empty`/`failed`) and
    the error a retry can show the model."""
    if not text or not text.strip():
        return [], "empty", "the answer was empty"
    stripped = text.strip()
    if mode in JSON_MODES:
        items, error = _strict_json(stripped, key)
        if items:
            return items, "json", ""
    else:
        items, error = _strict_list(stripped)
        if items:
            return items, "list", ""
        if single:  # one item asked for: the whole answer is the item
            one = _LABEL.sub("", _clean(stripped.splitlines()[0] if "\n\n" in stripped
                                        else stripped)).strip()
            if 3 <= len(one) <= MAX_ITEM_CHARS * 2:
                return [one], "text", ""
            error = "the answer is not a single request"
    items = _lenient(stripped, key)
    if items:
        return items, "lenient", ""
    return [], "failed", error

