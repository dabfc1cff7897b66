"""LLM-as-judge: a rubric per seed domain scores each pair 1-10 on correctness,
instruction-following and domain fit, with a short rationale. A grounded pair (made from a
chunk or row) is shown with its source and also scored on faithfulness to it
(`judge_faithfulness`, applied by the `faithfulness` check). A record of several turns or with
tool calls is shown as its conversation (`conversation_of`): the turns before its last answer,
tool calls and replies included, each message and the whole bounded in length; the judge
scores the assistant's side of it, the last answer above all.

Heuristics cannot tell a wrong answer from a right one; a strong model can. The judge asks for
a bounded JSON object and parses it strictly (exact keys, integers in range, a short string):
a reply that does not fit is recorded as `judge_error` and the pair is not scored, never
guessed. Scores live in `scores` (`judge`, the lowest of the three, plus each criterion and
the rationale), and the threshold is applied by the `judge` check (`datagen.checks.judge`)
from the stored score, so changing it re-curates a run without a single new call. Calls go
through `LLMClient`: the same cache, limits and cost accounting as generation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from datagen.checks.judge import JudgeConfig
from datagen.errors import BudgetExceeded
from datagen.llm.client import LLMClient
from datagen.llm.wire import LLMCallError
from datagen.records import add_scores, has_score, json_cell, to_json

PROMPT_VERSION = "judge.v1"
CONVERSATION_PROMPT_VERSION = "judge_conversation.v1"
MESSAGE_CHARS = 1500  # one message of a conversation, as the judge is shown it
CONVERSATION_CHARS = 8000  # the conversation before the last answer; older messages left out
CRITERIA = ("correctness", "instruction_following", "domain_fit")
GROUNDED = (*CRITERIA, "faithfulness")
FAITHFUL_RUBRIC = ("faithfulness: is every fact, figure and rule in the answer supported by the "
                   "source below (10), or does it add or contradict facts (1)?")
MAX_RATIONALE = 300
RUBRICS = {
    "legal": "Legal accuracy (no invented statutes or case law), precise drafting language, "
             "sensible caveats about jurisdiction; no advice that would mislead a non-lawyer.",
    "healthcare": "Medically sound and current, safe (urges a clinician where it should), "
                  "plain language for patients; no dosing or diagnosis it cannot support.",
    "finance": "Correct arithmetic and concepts, risks stated, no promises of returns; "
               "suitable for a private person.",
    "code": "Code that runs and does what was asked, idiomatic, secure defaults, a brief "
            "explanation of the approach.",
    "education": "Correct solution steps, explains the why at the learner's level, no skipped "
                 "reasoning, encourages the learner.",
    "ecommerce": "Polite, resolves the customer's issue, consistent with usual store policy, "
                 "no invented order details or promises.",
}
GENERIC = "Accurate, complete for what was asked, clear and well organised, on topic."

def verdict_schema(criteria: tuple[str, ...] = CRITERIA) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            **{c: {"type": "integer", "minimum": 1, "maximum": 10} for c in criteria},
            "rationale": {"type": "string", "maxLength": MAX_RATIONALE},
        },
        "required": [*criteria, "rationale"],
        "additionalProperties": False,
    }


SCHEMA = verdict_schema()


class JudgeParseError(ValueError):
    """The judge's reply is not exactly the object the schema describes."""


def rubric(domain: str) -> str:
    return RUBRICS.get((domain or "").split("/")[0].strip().lower(), GENERIC)


def _cut(text: Any, limit: int = MESSAGE_CHARS) -> str:
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + " [...]"


def render_conversation(messages: list[dict[str, Any]]) -> str:
    """Messages as compact lines (`User: ...`, `Assistant calls name({...})`, `Tool name
    replies: ...`), each cut at `MESSAGE_CHARS`; past `CONVERSATION_CHARS` the opening request
    stays and the oldest messages after it are left out, the latest kept."""
    names: dict[Any, str] = {}
    lines = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role == "tool":
            name = names.get(m.get("tool_call_id"), "?")
            lines.append(f"Tool {name} replies: {_cut(content)}")
            continue
        if content:
            lines.append(f"{str(role).capitalize()}: {_cut(content)}")
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            names[call.get("id")] = str(fn.get("name"))
            lines.append(f"Assistant calls {fn.get('name')}({_cut(fn.get('arguments'))})")
    if len("\n".join(lines)) <= CONVERSATION_CHARS:
        return "\n".join(lines)
    kept: list[str] = []
    room = CONVERSATION_CHARS - len(lines[0])
    for line in reversed(lines[1:]):
        if len(line) + 1 > room:
            break
        kept.insert(0, line)
        room -= len(line) + 1
    left_out = len(lines) - 1 - len(kept)
    return "\n".join([lines[0], f"[{left_out} earlier messages left out]", *kept])


def conversation_of(metadata: dict[str, Any]) -> tuple[str, str] | None:
    """(the conversation before the last answer, rendered; the last answer) of a record of
    several turns or with tool calls (`metadata.turns`); None for a single exchange."""
    turns = metadata.get("turns")
    if not isinstance(turns, list) or len(turns) <= 2:
        return None
    messages = [m for m in turns if isinstance(m, dict)]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"
                and not m.get("tool_calls")), default=None)
    if not last:  # none, or nothing before it
        return None
    return render_conversation(messages[:last]), str(messages[last].get("content") or "")


def judge_messages(domain: str, instruction: str, response: str,
                   source: str | None = None,
                   conversation: str | None = None) -> list[dict[str, str]]:
    """The judge's request. With `conversation` (`render_conversation` of the turns before
    `response`, the last answer) it replaces the instruction; a single exchange's request
    stays as it always was, so its cached verdicts hold."""
    system = ("You are a strict reviewer of training data for a fine-tuned assistant. "
              "Score the assistant's answer; reply with JSON only.")
    shown = f"Source the answer was written from:\n<<<\n{source}\n>>>\n\n" if source else ""
    extra = f", {FAITHFUL_RUBRIC}" if source else ""
    keys = ', "faithfulness": n' if source else ""
    asked = f"Instruction:\n{instruction}"
    scope = ""
    if conversation is not None:
        asked = f"Conversation before the answer:\n{conversation}"
        scope = (" for the answer in its conversation (the assistant's earlier turns above "
                 "count too)")
    user = (
        f"Domain: {domain or 'general'}\nWhat a good answer looks like here: {rubric(domain)}\n\n"
        f"{shown}{asked}\n\nAnswer:\n{response}\n\n"
        f"Score each criterion{scope} from 1 (bad) to 10 (excellent): correctness, "
        "instruction_following (does it do exactly what was asked), domain_fit (does it meet "
        f"the domain standard above){extra}. Give a rationale of at most two sentences.\n"
        'Reply with JSON only: {"correctness": n, "instruction_following": n, '
        f'"domain_fit": n{keys}, "rationale": "..."}}'
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def response_format(structured: str, endpoint_kind: str) -> dict[str, Any] | None:
    """OpenAI takes `json_schema`; llama.cpp-style servers take `json_object` with a schema."""
    mode = structured
    if mode == "auto":
        mode = "json_schema" if endpoint_kind == "openai" else "json_object"
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "verdict", "schema": SCHEMA, "strict": True}}
    if mode == "json_object":
        return {"type": "json_object", "schema": SCHEMA}
    return None


def for_criteria(fmt: dict[str, Any] | None, criteria: tuple[str, ...]) -> dict[str, Any] | None:
    """The same response format, asking for a verdict with these criteria."""
    if fmt is None or criteria == CRITERIA:
        return fmt
    schema = verdict_schema(criteria)
    if fmt.get("type") == "json_schema":
        return {**fmt, "json_schema": {**fmt["json_schema"], "schema": schema}}
    return {**fmt, "schema": schema}


def parse_verdict(text: str | None, criteria: tuple[str, ...] = CRITERIA) -> dict[str, Any]:
    """The verdict as a dict, or JudgeParseError: no fences, no extra keys, no floats."""
    if not isinstance(text, str):
        raise JudgeParseError("empty reply")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or set(data) != {*criteria, "rationale"}:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise JudgeParseError(f"expected keys {[*criteria, 'rationale']}, got {got}")
    for c in criteria:
        v = data[c]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10:
            raise JudgeParseError(f"{c} must be an integer 1-10, got {v!r}")
    r = data["rationale"]
    if not isinstance(r, str) or len(r) > MAX_RATIONALE:
        raise JudgeParseError(f"rationale must be a string of at most {MAX_RATIONALE} chars")
    return {**{c: data[c] for c in criteria}, "rationale": r.strip()}


def clear_judge_scores(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` without the judge's scores (`judge`, `judge_*`): for a re-judge by
    another judge, which then scores every pair again."""
    out = df.copy()
    rows = []
    for raw in out["scores"].tolist():
        scores = json_cell(raw)
        rows.append(to_json({k: v for k, v in scores.items()
                             if k != "judge" and not k.startswith("judge_")}))
    out["scores"] = pd.array(rows, dtype="string")
    return out


def to_judge(df: pd.DataFrame) -> pd.Index:
    """Kept, answered records without a judge score yet."""
    live = df["keep"].fillna(False).astype(bool) & df["response"].notna()
    return df.index[live & ~has_score(df, "judge")]


async def judge_records(df: pd.DataFrame, client: LLMClient, cfg: JudgeConfig, *,
                        response_fmt: dict[str, Any] | None,
                        progress: Callable[[int], None] | None = None,
                        sources: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of `df` with judge scores (or `judge_error`) on every kept, answered, unscored
    record; a grounded record (its source among `sources`) is judged against its source too.
    Verdicts are not applied here (see `low_score` and the `faithfulness` check)."""
    out = df.copy()
    idx = to_judge(out)
    cols = out.loc[idx, ["domain", "instruction", "response", "metadata"]]

    async def one(domain: Any, instruction: Any, response: Any,
                  metadata: Any) -> dict[str, Any]:
        meta = json_cell(metadata)
        ref = meta.get("source")
        source = (sources or {}).get(ref.get("id")) if isinstance(ref, dict) else None
        criteria = GROUNDED if source else CRITERIA
        params: dict[str, Any] = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
        fmt = for_criteria(response_fmt, criteria)
        if fmt is not None:
            params["response_format"] = fmt
        convo = conversation_of(meta)
        if convo is not None:
            response = convo[1]
        msgs = judge_messages(str(domain if isinstance(domain, str) else ""), str(instruction),
                              str(response), source, convo[0] if convo else None)
        try:
            done = await client.chat(msgs, params=params)
        except BudgetExceeded:  # not asked: a rerun with a higher cap asks it
            return {}
        except LLMCallError as exc:
            return {"judge_error": exc.reason[:200]}
        finally:
            if progress:
                progress(1)
        try:
            verdict = parse_verdict(done.text, criteria)
        except JudgeParseError as exc:
            return {"judge_error": str(exc)[:200]}
        return {"judge": min(verdict[c] for c in CRITERIA),
                **{f"judge_{c}": verdict[c] for c in criteria},
                "judge_rationale": verdict["rationale"],
                "judge_prompt": PROMPT_VERSION if convo is None else CONVERSATION_PROMPT_VERSION}

    # the row values as plain lists: a row of the frame costs ~0.3 ms, more than the request
    results = await asyncio.gather(*(one(*row) for row in zip(
        *(cols[c].tolist() for c in cols.columns), strict=True)))
    part = out.loc[idx].copy()
    add_scores(part, results)
    out.loc[idx, "scores"] = part["scores"]
    return out
