"""Reading seed files: YAML seeds and Self-Instruct `seed_tasks.jsonl` files, validated before
anything is paid for. Errors name the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from datagen.errors import SeedError
from datagen.files import parse_yaml
from datagen.seeds.limits import check_seed_size
from datagen.seeds.schema import SeedTask
from datagen.seeds.selfinstruct import import_tasks

_FIXES = {
    "missing": "add the field `{field}`",
    "extra_forbidden": "remove `{field}` (allowed fields: {allowed})",
    "too_short": "give `{field}` at least one entry / more text",
    "string_pattern_mismatch": "use lowercase letters, digits, '-' and '_' for `{field}`",
    "string_too_long": "shorten `{field}`; put long reference material in files named by "
                       "`sources`",
    "too_long": "give `{field}` fewer entries",
    "less_than_equal": "lower `{field}` to the limit",
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
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  field `{field}`: {msg} -> {fix}")
    return "\n".join(lines)


def load_seed(path: str | Path) -> SeedTask:
    """Read and validate one seed file; errors name the file, the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SeedError(f"{path}: no such seed file", hint="check the path (seeds live in seeds/)")
    check_seed_size(path)
    if path.suffix == ".jsonl":  # a Self-Instruct / Alpaca seed_tasks.jsonl, used as is
        return import_tasks(path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
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
        return SeedTask.model_validate(data).located(path)
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
