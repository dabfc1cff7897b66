"""Whether a record has the shape its seed asks for: an answer that parses as JSON and
validates against the seed's `output_schema` (`not_json`, `schema_invalid`), tool calls that
name a declared tool with arguments valid for its parameters (`unknown_tool`,
`bad_arguments`), tools that gave a result (`tool_failed`), and conversations whose every
later turn passed the answer checks (`turn_failed`).

The respond stage checks each answer against the seed the moment it arrives (it must: a bad
tool call cannot be answered by its tool) and records the outcome as `metadata.verdict`, with
the field or turn in `metadata.verdict_detail`. This check applies it like any other verdict,
so re-curating a run keeps it.
"""

from __future__ import annotations

from datagen.curate.check import Check, Context, Verdicts
from datagen.curate.reasons import CHECK_REASONS

REASONS = CHECK_REASONS["conformance"]
_KNOWN = {str(r) for r in REASONS}


def _conformance(ctx: Context) -> Verdicts:
    verdicts = Verdicts.none(ctx.frame.index)
    for idx, meta in zip(ctx.frame.index, ctx.texts.metadata, strict=True):
        v = meta.get("verdict")
        if v in _KNOWN:
            verdicts.reason[idx] = v
    return verdicts


CHECK = Check(
    name="conformance", reasons=REASONS, inputs=("metadata",), section=None,
    level="pair", run=_conformance,
)
