"""The drop reasons every stage names: generation marks its failures with them, the export
and the report count them, and the checks declare the ones they drop for.

The catalogue (each reason with its funnel stage and the check that gives it) is built from
the checks' declarations by `datagen.checks.registry`; a new check may drop for a reason of
its own, named in its declaration, without a member here. Values are short snake_case
constants and part of the record contract.
"""

from __future__ import annotations

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
# The reasons generation gives that no curation check declares, with their funnel stage; the
# rest of the catalogue comes from the checks' declarations (`datagen.checks.registry`).
MADE_BY_GENERATION: dict[str, str] = {str(r): "generation" for r in (R.UNPARSEABLE, R.LLM_ERROR)}

# Made at generation time and kept across re-curation: they are not curation's verdicts.
GENERATION: frozenset[str] = frozenset(MADE_BY_GENERATION)
# Reasons that mean "a copy of something else" (diversity metrics and the rounds' saturation
# count them; a semantic duplicate, only given with `curation.semantic.enabled`, is one too).
DUPLICATES: frozenset[str] = frozenset(str(r) for r in (
    R.NEAR_DUPLICATE, R.EXACT_DUPLICATE, R.SEED_OVERLAP, R.NOT_NOVEL, R.SEMANTIC_DUPLICATE))
