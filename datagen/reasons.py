"""Every drop reason, defined once: its value, the stage it belongs to and what it means.

The ledger, the funnel, the report and the diversity metrics read these facts from here and
nowhere else. Values are short snake_case constants and part of the record contract.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum


class DropReason(StrEnum):
    """Why a record was dropped."""

    # generation: set when a call fails or its output cannot be used
    UNPARSEABLE = "unparseable"
    LLM_ERROR = "llm_error"
    NOT_NOVEL = "not_novel"
    EVOL_UNCHANGED = "evol_unchanged"
    EVOL_UNANSWERABLE = "evol_unanswerable"
    EVOL_PROMPT_COPY = "evol_prompt_copy"
    # the seed's shape: an answer off its `output_schema`, a tool call off its `tools`, a
    # tool that failed, or a later turn of a conversation that failed its answer checks
    NOT_JSON = "not_json"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_TOOL = "unknown_tool"
    BAD_ARGUMENTS = "bad_arguments"
    TOOL_FAILED = "tool_failed"
    TURN_FAILED = "turn_failed"
    # human review (the highest-priority verdict)
    HUMAN_DROP = "human_drop"
    # bad input
    MISSING_FIELD = "missing_field"
    NOT_TEXT = "not_text"
    INVALID_UNICODE = "invalid_unicode"
    # heuristics
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BLACKLIST = "blacklist_keyword"
    BAD_START = "bad_start"
    PROMPT_DEBRIS = "prompt_debris"
    TRUNCATED = "truncated"
    REFUSAL = "refusal"
    CHAT_LEAK = "chat_leak"
    GARBLED = "garbled"
    NO_CODE = "no_code"
    PLACEHOLDER = "placeholder"
    ECHO = "echo"
    REPETITION = "repetition"
    PII = "pii"
    # language
    WRONG_LANGUAGE = "wrong_language"
    # references
    SEED_OVERLAP = "seed_overlap"
    REFERENCE_DUPLICATE = "reference_duplicate"
    EVAL_CONTAMINATION = "eval_contamination"
    PUBLISHED_DUPLICATE = "published_duplicate"
    # dedup
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    SEMANTIC_DUPLICATE = "semantic_duplicate"
    # grounding: a grounded record's answer is not supported by its chunk or row
    UNSUPPORTED = "unsupported"
    # judge
    JUDGE_LOW_SCORE = "judge_low_score"
    # target
    SURPLUS = "surplus"


R = DropReason
STAGES: dict[str, tuple[DropReason, ...]] = {
    "generation": (R.UNPARSEABLE, R.LLM_ERROR, R.NOT_NOVEL, R.EVOL_UNCHANGED,
                   R.EVOL_UNANSWERABLE, R.EVOL_PROMPT_COPY),
    "human": (R.HUMAN_DROP,),
    "conformance": (R.NOT_JSON, R.SCHEMA_INVALID, R.UNKNOWN_TOOL, R.BAD_ARGUMENTS,
                    R.TOOL_FAILED, R.TURN_FAILED),
    "bad input": (R.MISSING_FIELD, R.NOT_TEXT, R.INVALID_UNICODE),
    "heuristics": (R.EMPTY, R.TOO_SHORT, R.TOO_LONG, R.BLACKLIST, R.BAD_START, R.PROMPT_DEBRIS,
                   R.TRUNCATED, R.REFUSAL, R.CHAT_LEAK, R.GARBLED, R.NO_CODE, R.PLACEHOLDER,
                   R.ECHO, R.REPETITION, R.PII),
    "language": (R.WRONG_LANGUAGE,),
    "references": (R.SEED_OVERLAP, R.REFERENCE_DUPLICATE, R.EVAL_CONTAMINATION,
                   R.PUBLISHED_DUPLICATE),
    "dedup": (R.EXACT_DUPLICATE, R.NEAR_DUPLICATE, R.SEMANTIC_DUPLICATE),
    "grounding": (R.UNSUPPORTED,),
    "judge": (R.JUDGE_LOW_SCORE,),
    "target": (R.SURPLUS,),
}
_STAGE_OF = {str(r): stage for stage, reasons in STAGES.items() for r in reasons}

# Made at generation time and kept across re-curation: they are not curation's verdicts.
GENERATION: frozenset[str] = frozenset({str(R.UNPARSEABLE), str(R.LLM_ERROR)})
# Reasons that mean "a copy of something else" (diversity metrics and the rounds' saturation
# count them; a semantic duplicate, only given with `curation.semantic.enabled`, is one too).
DUPLICATES: frozenset[str] = frozenset(str(r) for r in (
    R.NEAR_DUPLICATE, R.EXACT_DUPLICATE, R.SEED_OVERLAP, R.NOT_NOVEL, R.SEMANTIC_DUPLICATE))


def stage_of(reason: str) -> str:
    """The funnel stage of a drop reason ("other" for a reason this version does not know)."""
    return _STAGE_OF.get(str(reason), "other")


# Every check by its name (what `curation.skip` takes), with the reasons it drops for, in the
# order a pass runs them. Here, with no import, so that the config can check `skip` when it
# is read; `curate.runner` asserts at import that its CHECKS are these.
CHECK_REASONS: dict[str, tuple[DropReason, ...]] = {
    "human": (R.HUMAN_DROP,),
    "bad_input": (R.MISSING_FIELD, R.NOT_TEXT, R.INVALID_UNICODE),
    "instruction_length": (R.EMPTY, R.TOO_SHORT, R.TOO_LONG),
    "keywords": (R.BLACKLIST, R.BAD_START),
    "debris": (R.PROMPT_DEBRIS,),
    "strategy": (R.NOT_NOVEL, R.EVOL_UNCHANGED, R.EVOL_PROMPT_COPY, R.EVOL_UNANSWERABLE),
    "seed_overlap": (R.SEED_OVERLAP,),
    "reference_sets": (R.REFERENCE_DUPLICATE,),
    "eval_sets": (R.EVAL_CONTAMINATION,),
    "pii": (R.PII,),
    "conformance": (R.NOT_JSON, R.SCHEMA_INVALID, R.UNKNOWN_TOOL, R.BAD_ARGUMENTS,
                    R.TOOL_FAILED, R.TURN_FAILED),
    "response_length": (R.EMPTY, R.TOO_LONG, R.TOO_SHORT),
    "truncation": (R.TRUNCATED,),
    "refusal": (R.REFUSAL,),
    "chat_leak": (R.CHAT_LEAK,),
    "garbled": (R.GARBLED,),
    "no_code": (R.NO_CODE,),
    "placeholder": (R.PLACEHOLDER,),
    "echo": (R.ECHO,),
    "repetition": (R.REPETITION,),
    "language": (R.WRONG_LANGUAGE,),
    "turns": (R.TURN_FAILED,),
    "faithfulness": (R.UNSUPPORTED,),
    "judge": (R.JUDGE_LOW_SCORE,),
    "quality": (),
    "dedup": (R.EXACT_DUPLICATE, R.NEAR_DUPLICATE),
    "semantic": (R.SEMANTIC_DUPLICATE,),
    "published": (R.PUBLISHED_DUPLICATE,),
    "surplus": (R.SURPLUS,),
}
CHECK_NAMES = tuple(CHECK_REASONS)


def check_skip(names: Iterable[str]) -> None:
    """ValueError unless every name in `curation.skip` is a check's: a misspelt name would
    otherwise skip nothing, silently. A drop reason names the check that drops for it, any
    other name the nearest check."""
    owners: dict[str, list[str]] = {}
    for check, reasons in CHECK_REASONS.items():
        for r in reasons:
            owners.setdefault(str(r), []).append(check)
    wrong = []
    for name in names:
        if name in CHECK_NAMES:
            continue
        if name in owners:
            checks = " or ".join(repr(c) for c in owners[name])
            wrong.append(f"{name!r} is a drop reason, not a check: skip {checks}")
            continue
        near = difflib.get_close_matches(str(name).lower().replace("-", "_").replace(" ", "_"),
                                         CHECK_NAMES, n=1, cutoff=0.6)
        wrong.append(f"{name!r} is no check: did you mean {near[0]!r}?" if near else
                     f"{name!r} is no check (checks: {', '.join(CHECK_NAMES)})")
    if wrong:
        raise ValueError("; ".join(wrong))
