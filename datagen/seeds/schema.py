"""The seed schema: what a seed YAML file may hold, validated so that a typo fails with its
name (`extra="forbid"` everywhere).

A seed describes one domain task: who answers (system persona), what is asked (task and a few
example instructions), in which language, and how many pairs are wanted.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from datagen.seeds.kinds import Tool, check_schema, unique_tool_names
from datagen.seeds.limits import (
    LIST_ITEMS,
    MAX_FILE_MB,
    MAX_FILES,
    MAX_TOTAL_MB,
    SHORT_CHARS,
    TEXT_CHARS,
)

Short = Annotated[str, Field(max_length=SHORT_CHARS)]  # a topic, a persona


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError("a path cannot hold a NUL character")
    return value


SourcePath = Annotated[str, Field(min_length=1, max_length=SHORT_CHARS),
                       AfterValidator(_no_nul)]


@functools.cache
def supported_languages() -> frozenset[str]:
    """ISO 639-1 codes the language filter can check (langdetect's bundled profiles)."""
    spec = importlib.util.find_spec("langdetect")
    assert spec is not None and spec.submodule_search_locations
    profiles = Path(next(iter(spec.submodule_search_locations))) / "profiles"
    return frozenset(p.name for p in profiles.iterdir())


class Example(BaseModel):
    """One example instruction, optionally with input context and a reference response.

    `task_id`, `name` and `is_classification` come from imported Self-Instruct seed files:
    they let the import round-trip, and classification tasks need their outputs first.
    """

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=3, max_length=TEXT_CHARS)
    input: str | None = Field(default=None, max_length=TEXT_CHARS)
    response: str | None = Field(default=None, max_length=TEXT_CHARS)
    task_id: str | None = Field(default=None, max_length=SHORT_CHARS)
    name: str | None = Field(default=None, max_length=SHORT_CHARS)
    is_classification: bool = False


class Sampling(BaseModel):
    """Sampling parameters of one strategy's calls; unset ones come from `generation`."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=16)
    weight: float = Field(default=1.0, gt=0, description="Share of the seed's calls.")


class PlainStrategy(Sampling):
    """Few-shot expansion from the seed's examples (cycling through `topics` if given)."""


class BootstrapStrategy(Sampling):
    """Self-Instruct: exemplars from seed examples plus already-kept generated instructions."""

    temperature: float | None = Field(default=0.7, ge=0, le=2)
    top_p: float | None = Field(default=0.5, gt=0, le=1)
    exemplars: int = Field(default=8, ge=1, le=32)
    machine_share: float = Field(default=0.25, ge=0, le=1,
                                 description="Share of exemplars taken from kept generations.")
    novelty_threshold: float = Field(
        default=80.0, ge=50, le=100,
        description="Similarity to the pool (rapidfuzz, as curation) at which a new one is "
        "not novel.",
    )


class TopicsStrategy(Sampling):
    """A topic tree (depth x degree) built by the LLM; generation conditioned on leaves."""

    depth: int = Field(default=2, ge=1, le=4)
    degree: int = Field(default=3, ge=1, le=10)


class PersonasStrategy(Sampling):
    """User personas (given, or generated when none are given) crossed with tasks/topics."""

    personas: list[Short] = Field(default_factory=list, max_length=LIST_ITEMS)
    generate: int = Field(default=5, ge=1, le=50)


EVOLVE_OPERATORS = ("deepen", "concretize", "constrain", "reason", "breadth")


class EvolveStrategy(Sampling):
    """Evol-Instruct: operators applied for `rounds` generations to kept instructions."""

    rounds: int = Field(default=2, ge=1, le=5)
    operators: list[str] = Field(default_factory=lambda: list(EVOLVE_OPERATORS), min_length=1)
    unchanged_threshold: float = Field(
        default=90.0, ge=50, le=100,
        description="Similarity to the parent at which an evolution changed nothing.",
    )

    @field_validator("operators")
    @classmethod
    def _known_operators(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if v not in EVOLVE_OPERATORS]
        if bad:
            raise ValueError(f"unknown operators {bad}; use some of {list(EVOLVE_OPERATORS)}")
        return value


class Strategies(BaseModel):
    """Which strategies make a seed's instructions; several combine (calls split by weight)."""

    model_config = ConfigDict(extra="forbid")

    plain: PlainStrategy | None = None
    bootstrap: BootstrapStrategy | None = None
    topics: TopicsStrategy | None = None
    personas: PersonasStrategy | None = None
    evolve: EvolveStrategy | None = None

    @model_validator(mode="before")
    @classmethod
    def _names_or_mapping(cls, value: Any) -> Any:
        # `[bootstrap, topics]` and `bootstrap:` (no settings) both mean "on, defaults".
        if isinstance(value, list):
            value = {name: {} for name in value}
        if isinstance(value, dict):
            value = {k: ({} if v is None or v is True else v) for k, v in value.items()
                     if v is not False}
        return value

    def enabled(self) -> dict[str, Sampling]:
        """Strategies in a fixed order; `plain` when none is chosen."""
        on = {name: getattr(self, name) for name in type(self).model_fields
              if getattr(self, name) is not None}
        return on or {"plain": PlainStrategy()}


class Sources(BaseModel):
    """The user's own material a seed is grounded in: documents (chunked by structure) or a
    table (one row per prompt). Paths and globs are relative to the seed file's folder and
    must stay inside it, or inside a folder `roots` lists (see `roots.py`)."""

    model_config = ConfigDict(extra="forbid")

    documents: list[SourcePath] = Field(
        default_factory=list, max_length=LIST_ITEMS,
        description="Files or globs: Markdown, text, HTML, PDF or DOCX.")
    table: SourcePath | None = Field(default=None,
                                     description="A .csv, .parquet or .jsonl file.")
    sample: int | None = Field(default=None, ge=1,
                               description="Rows (or chunks) used; all when unset.")
    shuffle: bool = Field(default=True, description="Seeded order over rows or chunks.")
    chunk_chars: int = Field(default=1200, ge=200, le=20_000,
                             description="Largest chunk, in characters.")
    chunk_overlap: int = Field(default=150, ge=0, le=5_000,
                               description="Characters of the previous chunk repeated.")
    max_file_mb: float = Field(default=20.0, gt=0, le=MAX_FILE_MB, description="Largest file read.")
    max_total_mb: float = Field(default=200.0, gt=0, le=MAX_TOTAL_MB,
                                description="Most bytes read from all the files together.")
    max_files: int = Field(default=1_000, ge=1, le=MAX_FILES,
                           description="Most files the documents (globs included) may name.")
    roots: list[SourcePath] = Field(
        default_factory=list, max_length=100,
        description="Folders outside the seed's folder that sources may be read from "
        "(relative to the seed's folder, or absolute). Never /proc, /sys or /dev.")
    per_unit: int = Field(default=2, ge=1, le=20,
                          description="Instructions asked per call about one chunk or row.")

    @model_validator(mode="after")
    def _one_kind(self) -> Sources:
        if bool(self.documents) == bool(self.table):
            raise ValueError("give either `documents` (a list of files or globs) or `table` "
                             "(one file), not both and not neither")
        if self.chunk_overlap >= self.chunk_chars:
            raise ValueError("`chunk_overlap` must be smaller than `chunk_chars`")
        return self

    @property
    def kind(self) -> str:
        return "table" if self.table else "documents"


class SeedTask(BaseModel):
    """A seed task, as written in `seeds/<domain>/<name>.yaml`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)
    domain: str = Field(min_length=2, max_length=SHORT_CHARS)
    description: str = Field(min_length=3, max_length=SHORT_CHARS)
    system: str = Field(min_length=3, max_length=TEXT_CHARS,
                        description="The persona that answers (system message).")
    task: str = Field(min_length=3, max_length=TEXT_CHARS,
                      description="What the generated instructions ask for.")
    examples: list[Example] = Field(min_length=1, max_length=LIST_ITEMS)
    language: str = "en"
    pairs: int = Field(default=20, ge=1, le=1_000_000)
    topics: list[Short] = Field(default_factory=list, max_length=LIST_ITEMS)
    strategies: Strategies = Field(default_factory=Strategies)
    multi_turn: bool = Field(default=False, description="Add a follow-up turn and its answer.")
    turns: int | None = Field(default=None, ge=2, le=8,
                              description="User turns per conversation (2-8); `multi_turn` is 2.")
    output_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON schema every answer must validate against.")
    tools: list[Tool] = Field(default_factory=list, max_length=32,
                              description="Functions the assistant may call (OpenAI's form).")
    tool_timeout_s: float = Field(default=10.0, gt=0, le=600,
                                  description="Longest a tool's `call` may take per call.")
    sources: Sources | None = Field(
        default=None, description="Ground instructions and answers in documents or a table.")
    _file: Path | None = PrivateAttr(default=None)  # where it was read from

    @property
    def file(self) -> Path:
        """The seed file (errors name it); its folder is the root of `sources` paths."""
        return self._file or Path(f"{self.id}.yaml")

    @property
    def base(self) -> Path:
        return self.file.parent

    def located(self, path: Path) -> SeedTask:
        self._file = path
        return self

    def __eq__(self, other: object) -> bool:  # where a seed was read from is not what it is
        return isinstance(other, SeedTask) and self.model_dump() == other.model_dump()

    @field_validator("examples", mode="before")
    @classmethod
    def _strings_are_instructions(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"instruction": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _grounded_strategies(self) -> SeedTask:
        other = [n for n in self.strategies.enabled() if n != "plain"]
        if self.sources is not None and other:
            raise ValueError(f"a seed with `sources` draws its variety from its chunks or rows: "
                             f"remove strategies {other} (or move them to a seed without "
                             "sources)")
        return self

    @field_validator("output_schema")
    @classmethod
    def _valid_output_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else check_schema(value)

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: list[Tool]) -> list[Tool]:
        return unique_tool_names(value)

    @model_validator(mode="after")
    def _one_shape(self) -> SeedTask:
        if self.tools and self.output_schema is not None:
            raise ValueError("a seed gives either `tools` or `output_schema`, not both: put "
                             "them in two seeds")
        if self.turns and self.multi_turn:
            raise ValueError("`turns` replaces `multi_turn`: remove `multi_turn`")
        return self

    @property
    def user_turns(self) -> int:
        """User turns per conversation: `turns`, 2 for `multi_turn`, else 1."""
        return self.turns or (2 if self.multi_turn else 1)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.strip().lower()
        known = supported_languages()
        if code == "zh":
            code = "zh-cn"
        if code not in known:
            raise ValueError(
                f"unknown language code {value!r}; use an ISO 639-1 code such as "
                + ", ".join(sorted(c for c in known if len(c) == 2)[:12])
                + ", ..."
            )
        return code


