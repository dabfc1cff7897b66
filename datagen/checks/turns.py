"""Every turn of a conversation passes the answer checks, and a conversation is kept or
dropped whole.

The answer checks (`datagen.curate.runner.ANSWER_CHECKS`: length, truncation, refusal, chat
leak, garbled, no code, placeholder, echo, repetition, language) judge a record's first
exchange, its `instruction` and `response`. Here the later exchanges of a conversation
(`metadata.turns` of a seed with `turns`) become rows of their own, one per (record, turn):
the user turn as the instruction and its answer as the response. The same checks judge them
in one pass, and the first failure of a record (the earliest turn, then the checks' order)
drops it as `turn_failed`, with `scores.turn_failed = {"turn": N, "reason": ...}`: turn 2 is
the second user turn. The check itself (`runner.TURNS`) is the runner's, which holds the
answer checks. The judge reads the whole conversation (`datagen.llm.judge.conversation_of`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.records import COLUMNS, json_cell

REASONS = (DropReason.TURN_FAILED,)
INPUTS = ("metadata", "language", "seed_id")


def later_turns(index: pd.Index, metadata: list[dict[str, Any]],
                frame: pd.DataFrame) -> pd.DataFrame:
    """One row per later exchange of each conversation: `owner` (the record's index), `turn`
    (the user turn's number, from 2), and the record columns the answer checks read."""
    rows = []
    for idx, meta, language, seed_id in zip(index, metadata, frame["language"].tolist(),
                                            frame["seed_id"].tolist(), strict=True):
        messages = meta.get("turns")
        if not isinstance(messages, list):
            continue
        turn, asked = 0, None
        for m in messages:
            if not isinstance(m, dict):
                continue
            if m.get("role") == "user":
                turn, asked = turn + 1, m.get("content")
            elif (m.get("role") == "assistant" and turn > 1 and asked is not None
                  and not m.get("tool_calls")):
                rows.append({"owner": idx, "turn": turn, "instruction": asked,
                             "response": m.get("content") or "", "language": language,
                             "seed_id": seed_id, "finish_reason": "stop"})
                asked = None
    return pd.DataFrame(rows)


def _long_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The later exchanges as records (every column, the ones no check reads empty)."""
    out = pd.DataFrame({c: pd.Series(pd.NA, index=rows.index, dtype=t)
                        for c, t in COLUMNS.items()})
    for c in ("instruction", "response", "language", "seed_id", "finish_reason"):
        out[c] = rows[c].astype("string")
    out["id"] = [f"{o}:{t}" for o, t in zip(rows["owner"], rows["turn"], strict=True)]
    out["keep"] = True
    out["metadata"] = "{}"
    out["scores"] = "{}"
    return out


def judge_turns(ctx: Context, judge: Callable[[pd.DataFrame], pd.Series]) -> Verdicts:
    """`turn_failed` for the records of `ctx` whose later turns `judge` drops (it gives a
    drop reason or NA per row of a frame of records: the runner's answer checks)."""
    verdicts = Verdicts.none(ctx.frame.index)
    rows = later_turns(ctx.frame.index, ctx.texts.metadata, ctx.frame)
    if rows.empty:
        return verdicts
    failed = rows.assign(reason=judge(_long_frame(rows)).to_numpy()).dropna(subset=["reason"])
    first = failed.sort_values(["owner", "turn"], kind="stable").drop_duplicates("owner")
    detail = pd.Series(None, index=ctx.frame.index, dtype=object)
    for owner, turn, reason in zip(first["owner"], first["turn"], first["reason"], strict=True):
        verdicts.reason[owner] = str(DropReason.TURN_FAILED)
        detail[owner] = {"turn": int(turn), "reason": str(reason)}
    verdicts.scores["turn_failed"] = detail
    return verdicts


def failed_turns(records: pd.DataFrame) -> dict[str, int]:
    """`turn N: reason` -> conversations dropped for it (curation's and generation's)."""
    found: Counter[str] = Counter()
    for reason, scores, meta in zip(records["drop_reason"].fillna("").tolist(),
                                    records["scores"].tolist(),
                                    records["metadata"].tolist(), strict=True):
        if reason != DropReason.TURN_FAILED:
            continue
        detail = json_cell(scores).get("turn_failed") or json_cell(meta).get("verdict_detail")
        if isinstance(detail, dict):
            found[f"turn {detail.get('turn')}: {detail.get('reason') or detail.get('error')}"] += 1
    return dict(found.most_common())


def _turns(ctx: Context) -> Verdicts:
    """Each later turn of a conversation judged by the answer checks, which the engine hands
    over (`Context.answers`)."""
    def judge(frame: pd.DataFrame) -> pd.Series:
        if ctx.answers is None:
            raise RuntimeError("the turns check needs the engine's answer checks "
                               "(Context.answers)")
        return ctx.answers(frame)

    return judge_turns(ctx, judge)


CHECK = Check(name="turns", stage="conformance", order=2200, reasons=REASONS, inputs=INPUTS,
              section=None, level="pair", run=_turns)
