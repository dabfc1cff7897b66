"""Seed tasks: the YAML files a user writes, validated so that a typo fails with its name.

A seed describes one domain task: who answers (system persona), what is asked (task and a few
example instructions), in which language, and how many pairs are wanted.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from datagen.errors import SeedError


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

    instruction: str = Field(min_length=3)
    input: str | None = None
    response: str | None = None
    task_id: str | None = None
    name: str | None = None
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

    personas: list[str] = Field(default_factory=list)
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


class SeedTask(BaseModel):
    """A seed task, as written in `seeds/<domain>/<name>.yaml`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)
    domain: str = Field(min_length=2)
    description: str = Field(min_length=3)
    system: str = Field(min_length=3, description="The persona that answers (system message).")
    task: str = Field(min_length=3, description="What the generated instructions ask for.")
    examples: list[Example] = Field(min_length=1)
    language: str = "en"
    pairs: int = Field(default=20, ge=1, le=1_000_000)
    topics: list[str] = Field(default_factory=list)
    strategies: Strategies = Field(default_factory=Strategies)
    multi_turn: bool = Field(default=False, description="Add a follow-up turn and its answer.")

    @field_validator("examples", mode="before")
    @classmethod
    def _strings_are_instructions(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"instruction": v} if isinstance(v, str) else v for v in value]
        return value

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


_FIXES = {
    "missing": "add the field `{field}`",
    "extra_forbidden": "remove `{field}` (allowed fields: {allowed})",
    "too_short": "give `{field}` at least one entry / more text",
    "string_pattern_mismatch": "use lowercase letters, digits, '-' and '_' for `{field}`",
}


def _allowed(loc: tuple[Any, ...]) -> str:
    """The fields allowed where an unknown one was found (nested: a strategy, an example)."""
    model: type[BaseModel] = SeedTask
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        inner = getattr(field, "annotation", None) if field else None
        options = [inner, *getattr(inner, "__args__", ())]
        nested = [t for t in options if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return ", ".join(model.model_fields)


def _describe(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid seed"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        fix = _FIXES.get(err["type"], "fix the value of `{field}`").format(
            field=field, allowed=_allowed(tuple(err["loc"]))
        )
        lines.append(f"  field `{field}`: {err['msg']} -> {fix}")
    return "\n".join(lines)


def load_seed(path: str | Path) -> SeedTask:
    """Read and validate one seed file; errors name the file, the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SeedError(f"{path}: no such seed file", hint="check the path (seeds live in seeds/)")
    if path.suffix == ".jsonl":  # a Self-Instruct / Alpaca seed_tasks.jsonl, used as is
        from datagen.seedimport import import_tasks

        return import_tasks(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise SeedError(
            f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}",
            hint="fix the YAML syntax (indentation, quotes, a ':' after each key)",
        ) from None
    except UnicodeDecodeError:
        raise SeedError(f"{path}: not UTF-8 text", hint="save the seed as UTF-8") from None
    if not isinstance(data, dict):
        raise SeedError(
            f"{path}: a seed file holds one mapping of fields, got {type(data).__name__}",
            hint="start the file with `id: ...` and the other fields of a seed",
        )
    try:
        return SeedTask.model_validate(data)
    except ValidationError as exc:
        raise SeedError(_describe(exc, path)) from None


def seed_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders into the seed files they contain, sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")]))
        else:
            files.append(p)
    return files


def load_seeds(paths: list[str | Path]) -> list[SeedTask]:
    """Load every seed; seed ids must be unique across files."""
    seeds, seen = [], {}
    files = seed_files(paths)
    if not files:
        raise SeedError("no seed files given", hint="pass seed YAML files or a folder of them")
    for path in files:
        seed = load_seed(path)
        if seed.id in seen:
            raise SeedError(
                f"{path}: field `id`: seed id {seed.id!r} is already used by {seen[seed.id]}",
                hint="give every seed a unique id",
            )
        seen[seed.id] = path
        seeds.append(seed)
    return seeds
