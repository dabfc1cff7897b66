"""Preference (DPO) pairs from a run's records, and the rows trainers read.

Records that share one prompt (seed, system message and instruction) and carry a judge score
form a pair: the chosen answer is the best-scored record that is kept (it passed every
curation check, so the SFT export holds it too), the rejected one the worst-scored other
answer whose score is at least `margin` below it. The rejected answer may have failed checks;
its drop reason travels with the pair. A run already has such groups: preference candidates
(`generate.candidates`), exact-duplicate instructions answered differently, and dropped answers
that had been judged. An answer dropped for personal data is never a rejected answer (it would
put that data in the export), nor is one identical to the chosen text.

The pair's prompt is the conversation up to its last assistant turn: the system message (when
the export carries one), the instruction and, for a conversation of several turns or with
tool calls, every message before the last answer (user turns, assistant tool calls, tool
replies). Records pair only when that prompt is the same, so a pair differs in the last
assistant turn alone. The judge is shown the conversation and scores its last answer; the
candidates of a seed of several turns share every turn before that answer
(`generate.respond`), so they pair. A pair takes its chosen record's split, so a prompt is in
the same split in both exports.

Formats: OpenAI's preference fine-tuning JSONL (`input.messages`, and `input.tools` for a seed
with tools, `preferred_output`, `non_preferred_output`, one assistant message each) and TRL's
conversational preference rows (`prompt`, `chosen`, `rejected` as lists of messages, and
`tools` when the seed has them), with the scores and the margin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.export.openai import strip_nulls, tools, turns
from datagen.files import write_jsonl
from datagen.reasons import DropReason
from datagen.records import json_cell

NEVER_REJECTED = {str(DropReason.PII)}  # their text must not leave the run folder
FILE = "preference_{split}.jsonl"


@dataclass(frozen=True)
class Pair:
    """One preference pair, with where its answers came from."""

    seed_id: str
    prompt: list[dict[str, Any]]
    chosen: str
    rejected: str
    chosen_id: str
    rejected_id: str
    chosen_score: float
    rejected_score: float
    rejected_drop_reason: str | None
    split: str | None = None
    chosen_index: Any = field(default=None, compare=False)
    tools: list[dict[str, Any]] | None = None

    @property
    def margin(self) -> float:
        return self.chosen_score - self.rejected_score


def _score(scores: Any) -> float | None:
    value = json_cell(scores).get("judge")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def form_pairs(records: pd.DataFrame, margin: float, *, labels: pd.Series | None = None,
               system_message: bool = True) -> list[Pair]:
    """At most one pair per prompt (see the module docstring), in record order of the chosen
    answers. `labels` (the SFT split of kept records) gives each pair its split."""
    if records.empty:
        return []
    cols = records[["id", "seed_id", "system", "instruction", "response", "keep",
                    "drop_reason", "scores", "metadata"]]
    groups: dict[tuple[str, str, str], list[tuple[Any, dict[str, Any]]]] = {}
    position: dict[Any, int] = {}
    for pos, (idx, *row) in enumerate(zip(cols.index, *(cols[c].tolist() for c in cols.columns),
                                          strict=True)):
        position[idx] = pos
        rid, seed_id, system, instruction, response, keep, reason, scores, meta = row
        score = _score(scores)
        if score is None or not _text(response).strip() or not _text(instruction).strip():
            continue
        before, last = _last_turn({"instruction": instruction, "response": response,
                                   "metadata": meta})
        if not last.strip():
            continue
        key = (_text(seed_id), _text(system), json.dumps(before, sort_keys=True))
        groups.setdefault(key, []).append((idx, {
            "id": str(rid), "response": last, "score": score, "before": before,
            "tools": tools({"metadata": meta}),
            "keep": bool(keep) if keep is not None and keep is not pd.NA else False,
            "reason": reason if isinstance(reason, str) else None}))
    pairs = []
    for (seed_id, system, _), members in groups.items():
        kept = [m for m in members if m[1]["keep"]]
        if not kept or len(members) < 2:
            continue
        best_idx, best = min(kept, key=lambda m: (-m[1]["score"], m[1]["id"]))
        worse = [m for _, m in members
                 if m["id"] != best["id"] and m["reason"] not in NEVER_REJECTED
                 and m["response"].strip() != best["response"].strip()
                 and best["score"] - m["score"] >= margin]
        if not worse:
            continue
        rej = min(worse, key=lambda m: (m["score"], m["id"]))
        prompt = ([{"role": "system", "content": system}]
                  if system_message and system.strip() else [])
        prompt += best["before"]
        split = None
        if labels is not None and best_idx in labels.index and isinstance(labels[best_idx], str):
            split = labels[best_idx]
        pairs.append(Pair(seed_id=seed_id, prompt=prompt, chosen=best["response"],
                          rejected=rej["response"], chosen_id=best["id"], rejected_id=rej["id"],
                          chosen_score=best["score"], rejected_score=rej["score"],
                          rejected_drop_reason=rej["reason"], split=split,
                          chosen_index=best_idx, tools=best["tools"]))
    return sorted(pairs, key=lambda p: position[p.chosen_index])


def _last_turn(row: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """(the messages before the conversation's last assistant turn, that turn's text)."""
    convo = strip_nulls(turns(row))
    last = max((i for i, m in enumerate(convo) if m["role"] == "assistant"
                and not m.get("tool_calls")), default=None)
    if last is None:
        return convo, ""
    before = [{k: v for k, v in m.items() if k != "weight"} for m in convo[:last]]
    return before, _text(convo[last].get("content"))


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def openai_row(pair: Pair) -> dict[str, Any]:
    """One line of OpenAI's preference fine-tuning file."""
    given: dict[str, Any] = {"messages": pair.prompt}
    if pair.tools:
        given["tools"] = pair.tools
    return {"input": given, "preferred_output": _assistant(pair.chosen),
            "non_preferred_output": _assistant(pair.rejected)}


def trl_row(pair: Pair) -> dict[str, Any]:
    """One row of TRL's conversational preference format, with the judge's evidence (and, for
    a seed with tools, their definitions as one JSON text, like the SFT export's `tools`)."""
    return {**({"tools": json.dumps(pair.tools, ensure_ascii=False)} if pair.tools else {}),
            "id": pair.chosen_id, "prompt": pair.prompt, "chosen": _assistant(pair.chosen),
            "rejected": _assistant(pair.rejected), "chosen_score": pair.chosen_score,
            "rejected_score": pair.rejected_score, "margin": pair.margin,
            "rejected_id": pair.rejected_id, "rejected_drop_reason": pair.rejected_drop_reason,
            "seed_id": pair.seed_id}


def by_split(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """Pairs per split (those of a record without a split, such as surplus, are left out)."""
    out: dict[str, list[Pair]] = {}
    for p in pairs:
        if p.split:
            out.setdefault(p.split, []).append(p)
    return out


def write_openai(pairs: dict[str, list[Pair]], folder: Path) -> list[Path]:
    """`preference_<split>.jsonl` per split with pairs; the paths written."""
    paths = []
    for split, rows in pairs.items():
        path = folder / FILE.format(split=split)
        write_jsonl(path, [openai_row(p) for p in rows])
        paths.append(path)
    return paths


def counts(pairs: list[Pair], prompts: int) -> dict[str, Any]:
    """The manifest's `preference` section: pairs per split and per 100 kept prompts."""
    per = by_split(pairs)
    return {"pairs": len(pairs), **{s: len(v) for s, v in per.items()},
            "per_100_prompts": round(100 * len(pairs) / prompts, 1) if prompts else 0.0,
            "mean_margin": round(sum(p.margin for p in pairs) / len(pairs), 3) if pairs else 0.0}
