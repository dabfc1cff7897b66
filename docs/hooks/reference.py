"""MkDocs hook: the Reference pages, written from the code at every build, and the guides
section filled from `docs/guides/`.

- `reference/config.md`: every run-config key by its dotted path, from the pydantic models
  (`datagen.config`): type, default, bounds and description.
- `reference/seeds.md`: every seed key, from `datagen.seeds.schema.SeedTask`.
- `reference/drop-reasons.md`: every drop reason with its stage and the check that drops for
  it, and the checks in the order a pass runs them (`datagen.checks.registry`).
- `reference/cli.md`: every command, from Typer's own docs generator (`typer ... utils docs`).

Nothing here is committed by hand: the pages cannot drift from the code. A page added under
`docs/guides/` appears in the "How-to guides" section without an edit of mkdocs.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from datagen.checks.registry import CHECK_REASONS, CHECKS, REASON_STAGES  # noqa: E402
from datagen.config import RunConfig  # noqa: E402
from datagen.markup import Markdown, md_table, md_text  # noqa: E402
from datagen.reasons import GENERATION  # noqa: E402
from datagen.seeds.schema import SeedTask  # noqa: E402

GUIDES = "How-to guides"
BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "at least"),
          ("max_length", "at most"), ("pattern", "matches"))


def _prose(text: str) -> Markdown:
    """Our own descriptions (code, not model or user text) as Markdown: `code` spans render."""
    return Markdown(" ".join(text.split()).replace("|", "\\|"))


def _code(text: str) -> Markdown:
    return Markdown(f"`{text}`")


def _section(annotation: Any) -> type[BaseModel] | None:
    """The model of a nested section (`X` or `X | None`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(annotation) if _section(a)]
        return found[0] if len(found) == 1 else None
    return None


def _mapping_of(annotation: Any) -> type[BaseModel] | None:
    """The model of the values of `dict[str, X]`, else None."""
    if typing.get_origin(annotation) is dict:
        return _section(typing.get_args(annotation)[1])
    return None


def type_name(annotation: Any) -> str:
    """A type as a reader writes YAML for it: `int or null`, `one of: auto, on, off`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (list, tuple, set):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {type_name(args[1])}" if args else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return json.dumps(value, ensure_ascii=False)


def _bounds(field: Any) -> str:
    out = []
    for item in field.metadata:
        for attr, word in BOUNDS:
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{word} {value}")
    return ", ".join(out)


def keys(model: type[BaseModel], prefix: str = "") -> list[list[Any]]:
    """A row per key of `model`, nested sections walked (`field_rows`)."""
    return [row for name, field in model.model_fields.items()
            for row in field_rows(f"{prefix}{name}", field)]


def field_rows(path: str, field: Any) -> list[list[Any]]:
    """Rows for one key: path, type, default, allowed, description. A section is walked; a
    section that may be unset (`preference`) gets its own row too; a mapping of sections
    (`models`) shows its entries' keys as `models.<name>.key`."""
    sub, entries = _section(field.annotation), _mapping_of(field.annotation)
    description = _prose(field.description or "")
    if sub is not None:
        rows = []
        if not isinstance(field.get_default(call_default_factory=True), BaseModel):
            doc = (sub.__doc__ or "").strip().split("\n\n")[0]
            rows.append([_code(path), type_name(field.annotation), _code(_default(field)), "",
                         description or _prose(doc)])
        return rows + keys(sub, f"{path}.")
    if entries is not None:
        return [[_code(path), type_name(field.annotation), _code(_default(field)), "",
                 description], *keys(entries, f"{path}.<name>.")]
    return [[_code(path), type_name(field.annotation), _code(_default(field)),
             md_text(_bounds(field)), description]]


HEADER = ["key", "type", "default", "allowed", "description"]


def config_page() -> str:
    """The run config: top-level keys first, then a table per section."""
    parts = ["# Run config keys", "",
             "Every key of a run config (`--config run.yaml`), by its full dotted path, as the "
             "pydantic models in `datagen/config/` declare it. Every key has a default; an "
             "unknown key, a wrong type or a value out of bounds fails before any work, naming "
             "the file, the key and the fix. `<name>` stands for a name you choose.", ""]
    top: list[list[Any]] = []
    sections: list[tuple[str, str, list[list[Any]]]] = []
    for name, field in RunConfig.model_fields.items():
        sub = _section(field.annotation) or _mapping_of(field.annotation)
        if sub is None:
            top.append([_code(name), type_name(field.annotation), _code(_default(field)),
                        md_text(_bounds(field)), _prose(field.description or "")])
            continue
        sections.append((name, (sub.__doc__ or "").strip(), field_rows(name, field)))
    parts += ["## Top-level keys", "", md_table(HEADER, top), ""]
    for name, doc, rows in sections:
        parts += [f"## `{name}`", "", _prose(doc), "", md_table(HEADER, rows),
                  ""]
    return "\n".join(parts)


def seeds_page() -> str:
    doc = " ".join((SeedTask.__doc__ or "").split())
    return "\n".join([
        "# Seed keys", "",
        "Every key a seed file (YAML) may hold, as `datagen/seeds/schema.py` declares it. "
        "A misspelt key fails with its name, before any call. " + _prose(doc), "",
        md_table(HEADER, keys(SeedTask)), ""])


def drop_reasons_page() -> str:
    """Every reason of the catalogue and every check, built-in or installed through the
    `datagen.checks` entry points, from their declarations (`datagen.checks.registry`)."""
    owners: dict[str, list[str]] = {}
    for check, reasons in CHECK_REASONS.items():
        for reason in reasons:
            owners.setdefault(str(reason), []).append(check)
    rows = []
    for reason, stage in REASON_STAGES.items():
        checks = owners.get(reason)
        made = ("generation (kept across re-curation)" if reason in GENERATION
                else "generation")
        rows.append([_code(reason), md_text(stage),
                     Markdown(", ".join(f"`{c}`" for c in checks)) if checks else md_text(made)])
    order = [[str(k + 1), _code(c.name), _code(c.run.__module__),
              Markdown(", ".join(f"`{r}`" for r in c.reasons)) if c.reasons
              else md_text("(scores only)"),
              _code(f"curation.{c.section}") if c.section else md_text("")]
             for k, c in enumerate(CHECKS)]
    return "\n".join([
        "# Drop reasons", "",
        "Every value `drop_reason` can hold, the funnel stage it is counted under, and the "
        "check that sets it, as the checks declare them (`datagen/checks/registry.py`; a "
        "check installed through the `datagen.checks` entry point group is listed too). A "
        "check's name is what `curation.skip` takes.", "",
        md_table(["drop reason", "stage", "set by"], rows), "",
        "## Checks, in the order a pass runs them", "",
        "A record is dropped by the first check that applies; see "
        "[Curation](../concepts/curation.md) for what each one looks for.", "",
        md_table(["#", "check", "module", "drops for", "settings"], order), ""])


def cli_page() -> str:
    """Typer's own Markdown for the app, every command and option."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]), "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-m", "typer", "--app", "app", "datagen.cli",
                           "utils", "docs", "--name", "datagen", "--title", "Commands"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"typer utils docs failed: {done.stderr[-2000:]}")
    return done.stdout


PAGES = {
    "reference/config.md": config_page,
    "reference/seeds.md": seeds_page,
    "reference/drop-reasons.md": drop_reasons_page,
    "reference/cli.md": cli_page,
}


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages, and list every page of `guides/` in the guides section."""
    for path, page in PAGES.items():
        files.append(File.generated(config, path, content=page()))
    guides = sorted(f.src_uri for f in files.documentation_pages()
                    if f.src_uri.startswith("guides/"))
    for entry in config["nav"]:
        if isinstance(entry, dict) and GUIDES in entry:
            listed = entry[GUIDES]
            named = {next(iter(e.values())) if isinstance(e, dict) else e for e in listed}
            listed += [g for g in guides if g not in named]
    return files
