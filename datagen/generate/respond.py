"""Answer instructions with the seed's persona; optionally add a follow-up turn.

`respond` fills response, finish_reason, token counts, model and params of every kept,
unanswered record; an evolved instruction whose answer shows the model could not answer it
gets the eliminator's `evol_unanswerable` verdict. `follow_up` (seeds with `multi_turn`) asks
the model, playing the user, for a next message and answers it; the conversation is stored as
`metadata.turns: [{role, content}, ...]` (without the system message) for multi-turn export;
`instruction` and `response` stay the first turn, so dedup and filters see the seed's task.

Preference candidates (`generate.candidates`) of a seed with several turns differ in the last
answer alone: everything before it is asked exactly as for the candidates' parent (the same
messages, parameters and sample, so one request in a stage and the cache's answer on a rerun),
and only the last answer at the candidate's own temperature and sample.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pandas as pd

from datagen.config import GenerationConfig
from datagen.errors import BudgetExceeded
from datagen.generate import structured
from datagen.generate.candidates import is_candidate
from datagen.generate.evolve import unanswerable
from datagen.generate.requests import LANGUAGE_NAMES
from datagen.generate.toolcalls import answer_with_tools, tool_specs
from datagen.llm.client import LLMClient
from datagen.llm.wire import Completion, LLMCallError
from datagen.prompts import render
from datagen.reasons import DropReason
from datagen.seeds import SeedTask
from datagen.seeds.sources import Unit

FOLLOWUP_PROMPT = "followup.v1"
FOLLOWUP_TURN_PROMPT = "followup_turn.v1"
GROUNDED_PROMPT = "respond_grounded.v1"
SHOWN_RESPONSE_CHARS = 2000
Progress = Callable[[int], None] | None
T = TypeVar("T")


class Shared:
    """Identical requests of one stage asked once, their answer shared by every asker. The
    cache answers a repeated request only once the first has come back; the candidates of a
    conversation ask their parent's requests at the same moment."""

    def __init__(self) -> None:
        self._asked: dict[str, asyncio.Future[Any]] = {}

    async def ask(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        if key not in self._asked:
            self._asked[key] = asyncio.ensure_future(make())
        return await asyncio.shield(self._asked[key])


def respond_messages(system: str, instruction: str,
                     unit: Unit | None = None) -> list[dict[str, str]]:
    """The persona and the instruction; for a grounded record, the persona is told to answer
    from its chunk or row (the record's `system` stays the persona alone)."""
    if unit is not None:
        system = render(GROUNDED_PROMPT, system=system, file=unit.file, source=unit.text,
                        heading=f", section: {unit.heading}" if unit.heading else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": instruction}]


def source_of(metadata: str | None, sources: dict[str, Unit]) -> Unit | None:
    """The unit a record was made from, if it was."""
    if not sources or not isinstance(metadata, str) or '"source"' not in metadata:
        return None
    ref = json.loads(metadata).get("source") or {}
    return sources.get(ref.get("id")) if isinstance(ref, dict) else None


def respond_params(gen: GenerationConfig) -> dict[str, Any]:
    return {"temperature": gen.respond_temperature, "top_p": gen.respond_top_p,
            "max_tokens": gen.respond_max_tokens}


def candidate_params(params: dict[str, Any],
                     metadata: str | None) -> tuple[dict[str, Any], int]:
    """The sampling parameters and cache sample index of a record: a preference candidate
    (`generate.candidates`) is asked at its own temperature, as its own sample."""
    if not is_candidate(metadata):
        return params, 0
    meta = json.loads(str(metadata))
    return {**params, "temperature": meta.get("temperature", params["temperature"])}, int(
        meta.get("candidate", 0))


def shares_first_answer(seed: SeedTask | None) -> bool:
    """Whether a preference candidate of `seed` takes its parent's first answer: a seed of
    several turns, but not one with tools, whose calling records get no further turns (their
    first answer is their last)."""
    return seed is not None and seed.user_turns > 1 and not seed.tools


def _set_meta(df: pd.DataFrame, idx: Any, **values: Any) -> None:
    meta = json.loads(df.at[idx, "metadata"])
    meta.update(values)
    df.at[idx, "metadata"] = json.dumps(meta, sort_keys=True, ensure_ascii=False)


async def answer(client: LLMClient, messages: list[dict[str, Any]], params: dict[str, Any],
                 sample: int, seed: SeedTask | None,
                 mode: str) -> tuple[Completion, dict[str, Any]]:
    """One answer in the seed's shape, and what to add to the record's metadata: for a seed
    with `tools`, the conversation with its calls (`turns`), the tools and the calls; for one
    with `output_schema`, the schema's verdict. A failed check is `verdict` (a drop reason,
    `datagen.checks.conformance`) with its `verdict_detail`."""
    if seed is not None and seed.tools:
        done = await answer_with_tools(client, messages, params, sample, seed)
        meta: dict[str, Any] = {"tools": tool_specs(seed), "calls": done.calls}
        if done.calls or done.reason:  # a plain answer stays a plain pair
            meta["turns"] = [messages[-1], *done.turns]
        if done.reason:
            meta.update(verdict=done.reason, verdict_detail=done.detail)
        return done.done, meta
    if seed is not None and seed.output_schema is not None:
        schema = seed.output_schema
        fmt = structured.answer_format(schema, mode, seed.id)
        messages = [{"role": "system",
                     "content": structured.schema_system(messages[0]["content"], schema)},
                    *messages[1:]]
        done = await client.chat(messages, params={**params, **(
            {"response_format": fmt} if fmt else {})}, sample=sample)
        reason, detail = structured.verdict(done.text, schema)
        return done, ({"verdict": reason, "verdict_detail": detail} if reason else {})
    return await client.chat(messages, params=params, sample=sample), {}


async def respond(
    records: pd.DataFrame, client: LLMClient, gen: GenerationConfig, *, progress: Progress = None,
    sources: dict[str, Unit] | None = None, seeds: dict[str, SeedTask] | None = None,
    mode: str = "json_object",
) -> pd.DataFrame:
    """Answer every kept record that has no response yet; a grounded record (its
    `metadata.source` names one of `sources`) is answered from its chunk or row, a record of a
    seed with `tools` or `output_schema` in that shape (`answer`; `mode` is the structured
    output dialect, `structured.dialect`). Returns a new frame."""
    df = records.copy()
    todo = df.index[df["keep"].fillna(False).astype(bool) & df["response"].isna()]
    params = respond_params(gen)
    extra: dict[Any, dict[str, Any]] = {}
    shared = Shared()

    async def one(idx: Any, system: str, instruction: str, metadata: str | None,
                  seed_id: str) -> tuple[Any, Any]:
        messages = respond_messages(system, instruction, source_of(metadata, sources or {}))
        seed = (seeds or {}).get(seed_id)
        try:
            if shares_first_answer(seed):  # a candidate's own answer is its last
                key = json.dumps([seed_id, client.key(messages, params)])
                done, meta = await shared.ask(key, lambda: answer(
                    client, messages, params, 0, seed, mode))
                extra[idx] = dict(meta)
            else:
                asked, sample = candidate_params(params, metadata)
                done, extra[idx] = await answer(client, messages, asked, sample, seed, mode)
            return idx, done
        except (LLMCallError, BudgetExceeded) as exc:
            return idx, exc
        finally:
            if progress:
                progress(1)

    cols = df.loc[todo, ["system", "instruction", "metadata", "seed_id"]]  # plain lists: a cell
    # lookup per record costs more than its request
    metadata = dict(zip(todo, cols["metadata"].tolist(), strict=True))
    results = await asyncio.gather(*(one(*row) for row in zip(
        todo, *(cols[c].tolist() for c in cols.columns), strict=True)))
    answered = []
    for idx, done in results:
        if isinstance(done, BudgetExceeded):
            continue  # left unanswered: a rerun with a higher cap answers it
        if isinstance(done, LLMCallError):
            df.at[idx, "keep"] = False
            df.at[idx, "drop_reason"] = DropReason.LLM_ERROR
            _set_meta(df, idx, error=done.reason)
            continue
        answered.append((idx, done))
    if answered:  # column by column: one assignment each, not one per record and column
        rows = [idx for idx, _ in answered]
        df.loc[rows, "response"] = [d.text if d.text is not None else "" for _, d in answered]
        df.loc[rows, "finish_reason"] = [d.finish_reason for _, d in answered]
        df.loc[rows, "prompt_tokens"] = [d.prompt_tokens for _, d in answered]
        df.loc[rows, "completion_tokens"] = [d.completion_tokens for _, d in answered]
        df.loc[rows, "model"] = [d.model for _, d in answered]
        df.loc[rows, "params"] = [json.dumps(candidate_params(params, metadata[idx])[0],
                                             sort_keys=True) for idx in rows]
    for idx, done in answered:
        if '"parent_id"' in (metadata[idx] or "") and unanswerable(done.text):
            _set_meta(df, idx, verdict=str(DropReason.EVOL_UNANSWERABLE))
        if extra.get(idx):
            _set_meta(df, idx, **extra[idx])
    return df


def _shown(turns: list[dict[str, Any]]) -> str:
    """The conversation so far as the user-playing model reads it (long answers cut)."""
    cut = SHOWN_RESPONSE_CHARS
    return "\n\n".join(f"{m['role'].capitalize()}: {(m.get('content') or '')[:cut]}"
                        for m in turns)


async def follow_up(records: pd.DataFrame, client: LLMClient, gen: GenerationConfig,
                    seeds: dict[str, SeedTask], *, progress: Progress = None,
                    sources: dict[str, Unit] | None = None) -> pd.DataFrame:
    """Add user turns and their answers to answered records of seeds with several turns
    (`turns`, or `multi_turn` for two), each user turn written by the model playing the user
    from the conversation so far, each answer asked with the whole conversation in context (a
    grounded record's from its chunk or row too). A `turns` conversation is kept or dropped
    whole: a later turn that fails (a failed call, an empty or cut-off message) gives the
    record `turn_failed`, with the turn and why in `metadata.verdict_detail`. A `multi_turn`
    record whose second turn fails stays single-turn, with `metadata.followup_error`. A
    preference candidate asks what its parent asks, but for its last answer (see the module
    docstring)."""
    df = records.copy()
    multi = df["seed_id"].map(lambda s: bool(seeds.get(s) and seeds[s].user_turns > 1))
    todo = df.index[multi & df["keep"].fillna(False).astype(bool) & df["response"].notna()
                    & (df["response"].fillna("").str.strip() != "")
                    & ~df["metadata"].fillna("").str.contains('"turns"|"verdict"', regex=True)]
    params = respond_params(gen)
    shared = Shared()

    async def chat(messages: list[dict[str, Any]], asked: dict[str, Any],
                   sample: int = 0) -> Completion:
        return await shared.ask(client.key(messages, asked, sample), lambda: client.chat(
            messages, params=asked, sample=sample))

    async def next_user(seed: SeedTask, turns: list[dict[str, Any]]) -> str:
        language = LANGUAGE_NAMES.get(seed.language, seed.language)
        if len(turns) == 2:  # the second turn: the opening exchange shown
            prompt = render(FOLLOWUP_PROMPT, instruction=turns[0]["content"],
                            response=turns[1]["content"][:SHOWN_RESPONSE_CHARS],
                            language=language)
        else:
            prompt = render(FOLLOWUP_TURN_PROMPT, task=seed.task, conversation=_shown(turns),
                            language=language)
        text = (await chat([{"role": "user", "content": prompt}], params)).text
        return (text or "").strip().strip('"').strip()

    async def one(idx: Any) -> None:
        seed = seeds[df.at[idx, "seed_id"]]
        turns = [{"role": "user", "content": df.at[idx, "instruction"]},
                 {"role": "assistant", "content": df.at[idx, "response"]}]
        system = respond_messages(seed.system, df.at[idx, "instruction"],
                                  source_of(df.at[idx, "metadata"], sources or {}))[0]
        last = candidate_params(params, df.at[idx, "metadata"])  # a candidate's own answer
        error = None
        try:
            for turn in range(2, seed.user_turns + 1):
                question = await next_user(seed, turns)
                if not question:
                    error = (turn, "empty follow-up")
                    break
                turns.append({"role": "user", "content": question})
                answer = await chat([system, *turns], *(
                    last if turn == seed.user_turns else (params, 0)))
                text = (answer.text or "").strip()
                if not text or answer.finish_reason == "length":
                    # filters judge the first turn's `instruction`/`response`: a bad later
                    # answer would pass them unseen
                    error = (turn, "truncated" if text else "empty answer")
                    break
                turns.append({"role": "assistant", "content": text})
        except LLMCallError as exc:
            error = (len(turns) // 2 + 1, exc.reason)
        finally:
            if progress:
                progress(1)
        if error is None:
            _set_meta(df, idx, turns=turns)
        elif seed.turns is None:  # `multi_turn`: the record stays single-turn
            _set_meta(df, idx, followup_error=error[1])
        else:
            _set_meta(df, idx, turns=turns, verdict=str(DropReason.TURN_FAILED),
                      verdict_detail={"turn": error[0], "error": error[1]})

    await asyncio.gather(*(one(i) for i in todo))
    return df
