"""Answers in a fixed JSON shape (a seed's `output_schema`).

The respond role is asked with the schema as a structured-output response format, in the
dialect its endpoint takes: `json_schema` for OpenAI, `json_object` with the schema for
llama.cpp-style servers (which answer `json_schema` with HTTP 500), and no response format
(the schema only in the system message) for `llm.structured: text`. Every answer is then
read and validated here, whatever the endpoint promised: `verdict` gives the drop reason
(`not_json`, `schema_invalid`) and the failing field, or None for an answer that validates.
"""

from __future__ import annotations

import json
from typing import Any

from datagen.prompts import render
from datagen.reasons import DropReason
from datagen.seeds.kinds import schema_errors

SCHEMA_PROMPT = "respond_schema.v1"


def dialect(structured: str, endpoint_kind: str) -> str:
    """`json_schema`, `json_object` or `text` for an endpoint (`llm.structured`, or auto)."""
    if structured != "auto":
        return structured
    return "json_schema" if endpoint_kind == "openai" else "json_object"


def answer_format(schema: dict[str, Any], mode: str, name: str) -> dict[str, Any] | None:
    """The `response_format` of a respond call for `schema` in dialect `mode`."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema_name(name),
                                                       "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def schema_name(seed_id: str) -> str:
    """OpenAI's rule for a schema name: letters, digits, `_` and `-`, at most 64."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in seed_id)[:64] or "answer"


def schema_system(system: str, schema: dict[str, Any]) -> str:
    """The persona told to answer in the schema (a response format alone is not enough for
    an endpoint that ignores it, and OpenAI's `json_object` wants "JSON" in the messages)."""
    return render(SCHEMA_PROMPT, system=system,
                  schema=json.dumps(schema, ensure_ascii=False, sort_keys=True))


def verdict(text: str | None, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(drop reason or None, detail): the answer must be one JSON value valid for `schema`.
    A fenced answer (```json ... ```) is not accepted: the export keeps the text as it is."""
    try:
        value = json.loads(text or "")
    except ValueError as exc:
        return str(DropReason.NOT_JSON), {"error": f"{exc}"[:200]}
    errors = schema_errors(schema, value)
    if errors:
        field, message = errors[0]
        return str(DropReason.SCHEMA_INVALID), {"field": field, "error": message,
                                                "errors": len(errors)}
    return None, {}
