"""Every drop reason, defined once: its value, the stage it belongs to and what it means.

The ledger, the funnel, the report and the diversity metrics read these facts from here and
nowhere else. Values are short snake_case constants and part of the record contract.
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
    "bad input": (R.MISSING_FIELD, R.NOT_TEXT, R.INVALID_UNICODE),
    "heuristics": (R.EMPTY, R.TOO_SHORT, R.TOO_LONG, R.BLACKLIST, R.BAD_START, R.PROMPT_DEBRIS,
                   R.TRUNCATED, R.REFUSAL, R.CHAT_LEAK, R.GARBLED, R.NO_CODE, R.PLACEHOLDER,
                   R.ECHO, R.REPETITION, R.PII),
    "language": (R.WRONG_LANGUAGE,),
    "references": (R.SEED_OVERLAP, R.REFERENCE_DUPLICATE, R.EVAL_CONTAMINATION,
                   R.PUBLISHED_DUPLICATE),
    "dedup": (R.EXACT_DUPLICATE, R.NEAR_DUPLICATE),
    "grounding": (R.UNSUPPORTED,),
    "judge": (R.JUDGE_LOW_SCORE,),
    "target": (R.SURPLUS,),
}
_STAGE_OF = {str(r): stage for stage, reasons in STAGES.items() for r in reasons}

# Made at generation time and kept across re-curation: they are not curation's verdicts.
GENERATION: frozenset[str] = frozenset({str(R.UNPARSEABLE), str(R.LLM_ERROR)})
# Reasons that mean "a copy of something else" (diversity metrics count them).
DUPLICATES: frozenset[str] = frozenset(str(r) for r in (
    R.NEAR_DUPLICATE, R.EXACT_DUPLICATE, R.SEED_OVERLAP, R.NOT_NOVEL))


def stage_of(reason: str) -> str:
    """The funnel stage of a drop reason ("other" for a reason this version does not know)."""
    return _STAGE_OF.get(str(reason), "other")
