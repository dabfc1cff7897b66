"""Pre-flight check of an OpenAI fine-tuning file, before it is uploaded and billed.

OpenAI rejects a malformed file only after upload, and bills tokens x epochs. This module runs
the checks of OpenAI's data-preparation cookbook offline: the format error classes, the
missing-message warnings, token counts per example (exact, with the LLM layer's counter), the
examples over each target model's limit, the default-epoch heuristic, the billed tokens and the
cost from a price table that the run config can extend (`export.prices`).

Function-calling lines (`tools` beside `messages`, or inside a preference line's `input`) are
checked by OpenAI's rules for them (`datagen.export.validate_tools`), and their tokens include
the tool definitions and the calls.

Error classes are counted per example (one bad line counts once per class), with the first
line numbers, so a report points at the lines to fix. `invalid_json` and `invalid_weight` are
ours: the cookbook's loader would crash on the first, and OpenAI accepts only 0 and 1 weights.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from datagen.config import FineTunePrice
from datagen.errors import ConfigError, ExportError
from datagen.export.validate_tools import (
    TOOL_ERROR_CLASSES,
    TOOL_MESSAGE_KEYS,
    TOOL_ROLE,
    example_tokens,
    is_call,
    tool_errors,
    tool_tokens,
)
from datagen.llm.tokens import count_chat_tokens, encoding_name, is_exact

ERROR_CLASSES = (
    "invalid_json", "data_type", "missing_messages_list", "message_missing_key",
    "message_unrecognized_key", "unrecognized_role", "missing_content",
    "example_missing_assistant_message", "invalid_weight", "unrecognized_example_key",
    *TOOL_ERROR_CLASSES,
)
ALLOWED_KEYS = ("role", "content", "name", "function_call", "weight", *TOOL_MESSAGE_KEYS)
ROLES = ("system", "user", "assistant", "function", TOOL_ROLE)
EXAMPLE_KEYS = ("messages", "tools", "parallel_tool_calls")
LINES_SHOWN = 5
MIN_EXAMPLES = 10  # OpenAI refuses a training file with fewer examples

# The cookbook's epoch heuristic (what the API picks when n_epochs is left to it).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

# OpenAI's published training prices (USD per 1M tokens) and per-example limits at the time of
# writing. Prices change: `export.prices` in the run config overrides or adds entries.
PRICES: dict[str, FineTunePrice] = {
    "gpt-4o-mini-2024-07-18": FineTunePrice(usd_per_1m_tokens=3.00, context_limit=65_536),
    "gpt-4o-2024-08-06": FineTunePrice(usd_per_1m_tokens=25.00, context_limit=65_536),
    "gpt-4.1-2025-04-14": FineTunePrice(usd_per_1m_tokens=25.00, context_limit=65_536),
    "gpt-4.1-mini-2025-04-14": FineTunePrice(usd_per_1m_tokens=5.00, context_limit=65_536),
    "gpt-4.1-nano-2025-04-14": FineTunePrice(usd_per_1m_tokens=1.50, context_limit=65_536),
    "gpt-3.5-turbo-0125": FineTunePrice(usd_per_1m_tokens=8.00, context_limit=16_385),
}


def message_errors(m: Any, keys: Collection[str], roles: Collection[str]) -> list[str]:
    """The error classes one message of a chat (SFT `messages` or a preference `input`) has
    whatever the file's kind: not an object, a key missing or unknown, an unknown role."""
    if not isinstance(m, dict):
        return ["data_type"]
    found = []
    if "role" not in m or ("content" not in m and not is_call(m)):
        found.append("message_missing_key")  # a tool call may come without content
    if any(k not in keys for k in m):
        found.append("message_unrecognized_key")
    if m.get("role") not in roles:
        found.append("unrecognized_role")
    return found


def example_errors(example: Any) -> list[str]:
    """The cookbook's format error classes of one parsed example, in its order."""
    if not isinstance(example, dict):
        return ["data_type"]
    msgs = example.get("messages")
    if not msgs or not isinstance(msgs, list):
        return ["missing_messages_list"]
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)

    if any(k not in EXAMPLE_KEYS for k in example):
        add("unrecognized_example_key")
    for m in msgs:
        for name in message_errors(m, ALLOWED_KEYS, ROLES):
            add(name)
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if m.get("tool_calls") is None and (
                (not content and not m.get("function_call")) or not isinstance(content, str)):
            add("missing_content")
        if content is not None and not isinstance(content, str):
            add("missing_content")
        if "weight" in m and (m["weight"] not in (0, 1) or isinstance(m["weight"], bool)):
            add("invalid_weight")
    for name in tool_errors(msgs, example.get("tools")):
        add(name)
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in msgs):
        add("example_missing_assistant_message")
    return found


PREFERENCE_ERROR_CLASSES = (
    "invalid_json", "data_type", "missing_input_messages", "message_missing_key",
    "message_unrecognized_key", "unrecognized_role", "missing_content",
    "input_not_ending_with_user", "output_not_one_assistant_message", "unrecognized_key",
    *TOOL_ERROR_CLASSES,
)
PREFERENCE_KEYS = ("input", "preferred_output", "non_preferred_output")
INPUT_KEYS = ("messages", "tools", "parallel_tool_calls")
INPUT_ROLES = ("system", "user", "assistant", TOOL_ROLE)


def is_preference(examples: list[tuple[int, Any]]) -> bool:
    """Whether a file holds preference (DPO) examples: its first object has `input` or an
    output list, not `messages`."""
    for _, ex in examples:
        if isinstance(ex, dict):
            return "messages" not in ex and any(k in ex for k in PREFERENCE_KEYS)
    return False


def preference_errors(example: Any) -> list[str]:
    """OpenAI's rules for one preference example: `input.messages` ends with a user turn (or,
    after tool calls, a tool reply) and follows the function-calling rules with `input.tools`,
    and `preferred_output` and `non_preferred_output` each hold exactly one assistant
    message with text."""
    if not isinstance(example, dict):
        return ["data_type"]
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)

    inp = example.get("input")
    if any(k not in PREFERENCE_KEYS for k in example) or (
            isinstance(inp, dict) and any(k not in INPUT_KEYS for k in inp)):
        add("unrecognized_key")
    msgs = inp.get("messages") if isinstance(inp, dict) else None
    if not msgs or not isinstance(msgs, list):
        add("missing_input_messages")
        msgs = []
    for m in msgs:
        for name in message_errors(m, ("role", "content", "name", *TOOL_MESSAGE_KEYS),
                                   INPUT_ROLES):
            add(name)
        if not isinstance(m, dict):
            continue
        if not is_call(m) and (not isinstance(m.get("content"), str) or not m.get("content")):
            add("missing_content")
    for name in tool_errors(msgs, inp.get("tools") if isinstance(inp, dict) else None):
        add(name)
    if msgs and not (isinstance(msgs[-1], dict) and msgs[-1].get("role") in ("user", TOOL_ROLE)):
        add("input_not_ending_with_user")
    for key in ("preferred_output", "non_preferred_output"):
        out = example.get(key)
        if not (isinstance(out, list) and len(out) == 1 and isinstance(out[0], dict)
                and out[0].get("role") == "assistant" and set(out[0]) <= {"role", "content"}
                and isinstance(out[0].get("content"), str) and out[0]["content"].strip()):
            add("output_not_one_assistant_message")
    return found


def _sequences(example: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The chat sequences an example trains on: its messages, or a preference example's
    input with each of its two outputs (DPO reads both)."""
    if "messages" in example:
        return [example["messages"]]
    msgs = example["input"]["messages"]
    return [[*msgs, *example["preferred_output"]], [*msgs, *example["non_preferred_output"]]]


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) per non-blank line, read a line at a time (a million-line
    file is never held whole); a line that is not JSON (or nested too deep to parse) is
    reported as `invalid_json`. A file that is not UTF-8 text is an ExportError naming the
    line."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: is a directory", hint="pass the .jsonl file itself")
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file", hint="check the path") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read it: {exc.strerror}",
                          hint="check the file's permissions") from None
    return _lines(path, handle)


def _lines(path: Path, handle: BinaryIO) -> Iterator[tuple[int, Any]]:
    with handle:
        for n, line in enumerate(handle, 1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                kind = "binary data" if b"\x00" in line else "not UTF-8 text"
                raise ExportError(f"{path}:{n}: {kind} (byte {exc.start + 1} of the line)",
                                  hint="OpenAI takes UTF-8 JSONL: one JSON object per line"
                                  ) from None
            if not text.strip():
                continue
            try:
                yield n, json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                yield n, _INVALID


_INVALID = object()


def distribution(values: list[int]) -> dict[str, float]:
    """min / mean / p50 / p95 / max, as the cookbook prints them (nearest-rank percentiles)."""
    if not values:
        return {"min": 0, "mean": 0.0, "p50": 0, "p95": 0, "max": 0}
    s = sorted(values)

    def pct(p: float) -> int:
        return s[max(0, math.ceil(p / 100 * len(s)) - 1)]

    return {"min": s[0], "mean": round(sum(s) / len(s), 1), "p50": pct(50), "p95": pct(95),
            "max": s[-1]}


def default_epochs(n_examples: int) -> int:
    """Target 3 epochs; clamp so examples x epochs lies in 100..25,000 and epochs in 1..25."""
    if n_examples <= 0:
        return 0
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def price_table(overrides: Mapping[str, FineTunePrice] | None = None) -> dict[str, FineTunePrice]:
    return {**PRICES, **(overrides or {})}


def check_examples(examples: Iterable[tuple[int, Any]], models: list[str],
                   prices: Mapping[str, FineTunePrice] | None = None,
                   name: str = "") -> dict[str, Any]:
    """The pre-flight report of parsed examples (line number, value)."""
    table = price_table(prices)
    unknown = [m for m in models if m not in table]
    if unknown:
        raise ConfigError(f"no fine-tuning price or token limit for {unknown}",
                          hint="add them under export.prices (usd_per_1m_tokens, context_limit) "
                               f"or pick from {sorted(table)}")
    examples = iter(examples)
    ahead: list[tuple[int, Any]] = []  # lines read before the first object decides the format
    for item in examples:
        ahead.append(item)
        if isinstance(item[1], dict):
            break
    preference = is_preference(ahead)
    check = preference_errors if preference else example_errors
    classes = PREFERENCE_ERROR_CLASSES if preference else ERROR_CLASSES
    errors: dict[str, list[int]] = {}
    # one model per encoding counts tokens; per valid example only numbers are kept
    counters = {encoding_name(m): m for m in reversed(models)}
    totals: dict[str, list[int]] = {enc: [] for enc in counters}
    assistant: dict[str, list[int]] = {enc: [] for enc in counters}
    definitions = 0  # tokens of tool definitions, with the first model
    per_example: list[int] = []  # messages per valid example
    no_system = no_user = 0
    for line, ex in itertools.chain(ahead, examples):
        found = ["invalid_json"] if ex is _INVALID else check(ex)
        for cls in found:
            errors.setdefault(cls, []).append(line)
        if found:
            continue
        seqs = _sequences(ex)
        defs = ex.get("tools") or (ex.get("input") or {}).get("tools")
        for enc, model in counters.items():
            pairs = [example_tokens(m, model, defs) for m in seqs]
            totals[enc].append(sum(t for t, _ in pairs))
            assistant[enc].append(sum(a for _, a in pairs))
        if models:
            definitions += tool_tokens(defs, models[0]) * len(seqs)
        msgs = seqs[0]
        per_example.append(len(msgs))
        no_system += not any(m["role"] == "system" for m in msgs)
        no_user += not any(m["role"] == "user" for m in msgs)
    valid = len(per_example)
    n_lines = sum(len(v) for v in errors.values())
    report: dict[str, Any] = {
        "file": name, "examples": valid + len({x for v in errors.values() for x in v}),
        "valid": valid, "format": "preference" if preference else "chat",
        "format_errors": {c: {"count": len(errors[c]), "lines": errors[c][:LINES_SHOWN]}
                          for c in classes if c in errors},
        "warnings": {"missing_system_message": no_system, "missing_user_message": no_user},
        "passed": n_lines == 0, "models": {}, "min_examples": MIN_EXAMPLES,
        "file_errors": ({"empty_file": "no examples"} if not valid and not n_lines else
                        {"too_few_examples": f"{valid} valid examples, OpenAI needs at "
                                             f"least {MIN_EXAMPLES}"}
                        if valid < MIN_EXAMPLES else {}),
    }
    for model in models:
        enc = encoding_name(model)
        if "tokens" not in report:
            report["tokens"] = {
                "encoding": enc, "exact": is_exact(model), "total": sum(totals[enc]),
                "tool_definitions": definitions,
                "per_example": distribution(totals[enc]),
                "assistant_per_example": distribution(assistant[enc]),
                "messages_per_example": distribution(per_example),
            }
        price = table[model]
        epochs = default_epochs(valid)
        billable = sum(min(price.context_limit, t) for t in totals[enc])
        billed = billable * epochs
        report["models"][model] = {
            "encoding": enc, "context_limit": price.context_limit,
            "over_limit": sum(t > price.context_limit for t in totals[enc]),
            "epochs": epochs, "billable_tokens_per_epoch": billable, "billed_tokens": billed,
            "usd_per_1m_tokens": price.usd_per_1m_tokens,
            "cost_usd": round(billed * price.usd_per_1m_tokens / 1_000_000, 4),
        }
    return report


def validate_file(path: str | Path, models: list[str],
                  prices: Mapping[str, FineTunePrice] | None = None, *,
                  strict: bool = False) -> dict[str, Any]:
    """The pre-flight report of one JSONL file (see `check_examples`). `strict` (the
    `validate` command) also fails a file OpenAI would refuse as a whole: empty, or fewer
    than `MIN_EXAMPLES` examples; an export only notes it (a small run is still a run)."""
    report = check_examples(read_jsonl(path), models, prices, name=Path(path).name)
    if strict and report["file_errors"]:
        report["passed"] = False
    return report


def token_lengths(rows: Iterable[dict[str, Any]], model: str) -> list[int]:
    """Tokens per chat example (`{"messages": [...]}`), for the card's histogram."""
    return [count_chat_tokens(r["messages"], model) for r in rows]
