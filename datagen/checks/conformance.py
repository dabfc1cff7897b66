"""Whether a record has the shape its seed asks for: an answer that parses as JSON and
validates against the seed's `output_schema` (`not_json`, `schema_invalid`), tool calls that
name a declared tool with arguments valid for its parameters (`unknown_tool`,
`bad_arguments`), tools that gave a result (`tool_failed`), and conversations whose every
later turn was answered (`turn_failed`; the answer checks over every later turn are
`datagen.checks.turns`).

The respond stage checks each answer against the seed the moment it arrives (it must: a bad
tool call cannot be answered by its tool) and records the outcome as `metadata.verdict`, with
the field or turn in `metadata.verdict_detail`. This check applies it like any other verdict,
so re-curating a run keeps it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.checks.turns import failed_turns
from datagen.reasons import DropReason
from datagen.records import json_cell

REASONS = (DropReason.NOT_JSON, DropReason.SCHEMA_INVALID, DropReason.UNKNOWN_TOOL,
           DropReason.BAD_ARGUMENTS, DropReason.TOOL_FAILED, DropReason.TURN_FAILED)
_KNOWN = {str(r) for r in REASONS}


def _conformance(ctx: Context) -> Verdicts:
    return Verdicts.recorded(ctx, REASONS)


CHECK = Check(
    name="conformance", stage="conformance", order=1100,
    reasons=REASONS, inputs=("metadata",), section=None,
    level="pair", run=_conformance,
)


def shape_counts(records: pd.DataFrame) -> dict[str, Any]:
    """What the manifest and report show of the seeds' shapes: drops per conformance reason,
    the fields that failed the schema most, the calls per tool of kept records and how many
    kept records call a tool, the turns of kept conversations, and which turn of a dropped
    conversation failed, for what."""
    reasons: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    tools: Counter[str] = Counter()
    turns: Counter[int] = Counter()
    calling = 0
    for meta, keep, dropped in zip(records["metadata"].tolist(),
                                   records["keep"].fillna(False).tolist(),
                                   records["drop_reason"].fillna("").tolist(), strict=True):
        data = json_cell(meta)
        verdict = data.get("verdict")
        if verdict not in _KNOWN and dropped == DropReason.TURN_FAILED:
            verdict = dropped  # a later turn that failed curation's answer checks
        if verdict in _KNOWN:
            reasons[verdict] += 1
            field = (data.get("verdict_detail") or {}).get("field")
            if verdict == "schema_invalid" and field:
                fields[field] += 1
        if not keep:
            continue
        calls = data.get("calls") or []
        calling += bool(calls)
        tools.update(c.split("(", 1)[0] for c in calls)
        if isinstance(data.get("turns"), list):
            turns[sum(m.get("role") == "user" for m in data["turns"])] += 1
    return {"dropped": dict(reasons.most_common()),
            "schema_failures": dict(fields.most_common()),
            "kept_calling_tools": calling, "calls_per_tool": dict(tools.most_common()),
            "kept_by_turns": {str(k): v for k, v in sorted(turns.items())},
            "failed_turns": failed_turns(records)}
