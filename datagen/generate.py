"""Expand seeds into instructions, then answer each instruction with the seed's persona.

Input: `SeedTask`s. Output: records (see `datagen.records`) with `instruction` filled by
`expand` and `response`, `finish_reason` and token counts filled by `respond`. Output that
cannot be parsed is kept as a dropped record with its reason, never discarded.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from datagen.config import GenerationConfig, LLMConfig
from datagen.llm.client import LLMCallError, LLMClient
from datagen.prompts import render
from datagen.records import DropReason, new_records, record_id
from datagen.seeds import SeedTask

EXPAND_PROMPT = "expand.v1"
MAX_INSTRUCTION_CHARS = 400

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ja": "Japanese",
    "ko": "Korean", "zh-cn": "Chinese", "vi": "Vietnamese", "id": "Indonesian",
}

Progress = Callable[[int], None] | None

_NUMBER_PREFIX = re.compile(r"^(?:\d{1,3}\s*[.):\-]\s*)+")
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.):\-]|[-*\u2022]|#{1,6})\s+(.+?)\s*$")


def structured_mode(llm: LLMConfig, endpoint_kind: str) -> str:
    """Which structured-output dialect to ask for. llama.cpp rejects `json_schema` (HTTP 500)
    but takes `json_object` with a schema; unknown servers get plain numbered lists."""
    if llm.structured != "auto":
        return llm.structured
    # Measured on the embedded model: numbered lists parse far more often than its JSON mode.
    return "json_schema" if endpoint_kind == "openai" else "text"


def _instructions_schema(n: int) -> dict[str, Any]:
    # Bounded strings and item counts: the tiny embedded model only emits parseable JSON
    # when every string has a maxLength.
    return {
        "type": "object",
        "properties": {
            "instructions": {
                "type": "array",
                "items": {"type": "string", "minLength": 10, "maxLength": 300},
                "minItems": n,
                "maxItems": n,
            }
        },
        "required": ["instructions"],
        "additionalProperties": False,
    }


def response_format(mode: str, n: int) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "instructions", "schema": _instructions_schema(n)}}
    if mode == "json_object":
        return {"type": "json_object", "schema": _instructions_schema(n)}
    return None


def parse_instructions(text: str | None) -> tuple[list[str], str]:
    """Instructions from a JSON object or a numbered/bulleted list; and how they were parsed."""
    if not text or not text.strip():
        return [], "empty"
    stripped = text.strip()
    if stripped.startswith("{") or stripped.startswith("```"):
        body = re.sub(r"^```(?:json)?|```$", "", stripped).strip()
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("instructions"), list):
            items = [str(x).strip() for x in data["instructions"] if isinstance(x, str)]
            return [x for x in items if x], "json"
    items = []
    for line in stripped.splitlines():
        m = _LIST_ITEM.match(line)
        if m:
            item = _NUMBER_PREFIX.sub("", m.group(1)).strip().strip('"').strip()
            if item:
                items.append(item)
    if items:
        return items, "list"
    return [], "failed"


def _examples_block(seed: SeedTask, k: int, rng: random.Random) -> str:
    shown = rng.sample(seed.examples, min(k, len(seed.examples))) if k else []
    lines = []
    for i, ex in enumerate(shown, 1):
        text = ex.instruction if not ex.input else f"{ex.instruction} Input: {ex.input}"
        lines.append(f"{i}. {text}")
    return "\n".join(lines)


def expand_request(
    seed: SeedTask, gen: GenerationConfig, mode: str, sample: int, rng_seed: int
) -> tuple[list[dict[str, str]], dict[str, Any], dict[str, Any]]:
    """The messages, API params and provenance of expansion call number `sample`."""
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    topic = seed.topics[sample % len(seed.topics)] if seed.topics else None
    fmt = (
        'Answer with JSON only: {"instructions": ["...", "..."]}.'
        if mode in ("json_schema", "json_object")
        else "Answer with a numbered list (1. 2. 3. ...) of the requests, one per line, "
        "and nothing else."
    )
    user = render(
        EXPAND_PROMPT,
        task=seed.task,
        examples=_examples_block(seed, gen.few_shot, rng),
        n=n,
        language=LANGUAGE_NAMES.get(seed.language, seed.language),
        focus=f" Focus on this topic: {topic}." if topic else "",
        format=fmt,
    )
    system = render("expand_system.v1", domain=seed.domain, description=seed.description)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    params: dict[str, Any] = {
        "temperature": gen.expand_temperature,
        "top_p": gen.expand_top_p,
        "max_tokens": gen.expand_max_tokens,
    }
    fmt_param = response_format(mode, n)
    if fmt_param is not None:
        params["response_format"] = fmt_param
    meta = {"stage": "expand", "prompt": EXPAND_PROMPT, "sample": sample, "topic": topic}
    return messages, params, meta


def expand_calls_needed(missing_pairs: int, gen: GenerationConfig) -> int:
    return max(1, math.ceil(missing_pairs * gen.overgenerate / gen.instructions_per_call))


async def expand(
    seed: SeedTask,
    client: LLMClient,
    gen: GenerationConfig,
    *,
    mode: str,
    samples: range,
    run_id: str,
    rng_seed: int,
    round_no: int = 0,
    progress: Progress = None,
) -> pd.DataFrame:
    """Ask for new instructions with calls `samples` (indices keep cache keys distinct)."""

    async def one(sample: int) -> list[dict[str, Any]]:
        messages, params, meta = expand_request(seed, gen, mode, sample, rng_seed)
        meta["round"] = round_no
        base = {
            "run_id": run_id, "seed_id": seed.id, "domain": seed.domain,
            "language": seed.language, "system": seed.system, "model": client.endpoint.model,
        }
        try:
            done = await client.chat(messages, params=params, sample=sample)
        except LLMCallError as exc:
            rid = record_id(seed.id, client.key(messages, params, sample), "error")
            return [{**base, "id": rid, "instruction": "", "keep": False,
                     "drop_reason": DropReason.LLM_ERROR,
                     "metadata": {**meta, "error": exc.reason}}]
        finally:
            if progress:
                progress(1)
        items, how = parse_instructions(done.text)
        meta = {**meta, "call": done.key, "parse": how, "call_finish_reason": done.finish_reason}
        if not items:
            return [{**base, "id": record_id(seed.id, done.key, "raw"),
                     "instruction": (done.text or "")[:2000], "keep": False,
                     "drop_reason": DropReason.UNPARSEABLE, "metadata": meta}]
        rows = []
        for j, item in enumerate(items):
            rows.append({**base, "id": record_id(seed.id, done.key, j),
                         "instruction": item[:MAX_INSTRUCTION_CHARS], "keep": True,
                         "metadata": {**meta, "index": j}})
        return rows

    batches = await asyncio.gather(*(one(s) for s in samples))
    return new_records([row for batch in batches for row in batch])


def respond_messages(system: str, instruction: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": instruction}]


async def respond(
    records: pd.DataFrame, client: LLMClient, gen: GenerationConfig, *, progress: Progress = None
) -> pd.DataFrame:
    """Answer every kept record that has no response yet. Returns a new frame."""
    df = records.copy()
    todo = df.index[df["keep"].fillna(False).astype(bool) & df["response"].isna()]
    params = {
        "temperature": gen.respond_temperature,
        "top_p": gen.respond_top_p,
        "max_tokens": gen.respond_max_tokens,
    }

    async def one(idx: Any) -> tuple[Any, Any]:
        messages = respond_messages(df.at[idx, "system"], df.at[idx, "instruction"])
        try:
            return idx, await client.chat(messages, params=params)
        except LLMCallError as exc:
            return idx, exc
        finally:
            if progress:
                progress(1)

    results = await asyncio.gather(*(one(i) for i in todo))
    params_json = json.dumps(params, sort_keys=True)
    for idx, done in results:
        if isinstance(done, LLMCallError):
            df.at[idx, "keep"] = False
            df.at[idx, "drop_reason"] = DropReason.LLM_ERROR
            meta = json.loads(df.at[idx, "metadata"])
            meta["error"] = done.reason
            df.at[idx, "metadata"] = json.dumps(meta, sort_keys=True)
            continue
        df.at[idx, "response"] = done.text if done.text is not None else ""
        df.at[idx, "finish_reason"] = done.finish_reason
        df.at[idx, "prompt_tokens"] = done.prompt_tokens
        df.at[idx, "completion_tokens"] = done.completion_tokens
        df.at[idx, "model"] = done.model
        df.at[idx, "params"] = params_json
    return df
