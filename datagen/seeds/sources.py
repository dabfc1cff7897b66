"""A grounded seed's units: the chunks of its documents, or the rows of its table.

Each unit has a stable id (a hash of the file's content and the unit's position), the file it
came from (as the seed names it), its character span or row number, and its text: what the
instruction is asked about and what the response is written from. `units` returns them in
the order a seed's calls take them: seeded (`sources.shuffle`) and cut to `sources.sample`,
so call number `k` is about unit `k mod n` and every unit gets its turn before any gets two.
"""

from __future__ import annotations

import glob
import hashlib
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datagen.errors import SeedError
from datagen.records import record_id
from datagen.seeds.chunks import chunk
from datagen.seeds.documents import read_document
from datagen.seeds.schema import SeedTask, Sources
from datagen.seeds.tables import check_columns, read_table, row_text

ROW_PREVIEW = 200


@dataclass(frozen=True)
class Unit:
    """One chunk or row; `ref()` is what a record carries as `metadata.source`."""

    id: str
    kind: str  # "chunk" | "row"
    file: str
    text: str
    start: int | None = None
    end: int | None = None
    heading: str = ""
    row: int | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def ref(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "file": self.file}
        if self.kind == "chunk":
            out.update(start=self.start, end=self.end)
            if self.heading:
                out["heading"] = self.heading
        else:
            out["row"] = self.row
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _documents(src: Sources, base: Path, seed_file: Path) -> list[Path]:
    files: list[Path] = []
    for pattern in src.documents:
        root = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        if glob.has_magic(pattern):
            found = sorted(Path(p) for p in glob.glob(str(root), recursive=True)
                           if Path(p).is_file())
            if not found:
                raise SeedError(f"{seed_file}: field `sources.documents`: {pattern!r} "
                                "matches no file",
                                hint=f"check the pattern; it is relative to {base}")
            files.extend(found)
        elif root.is_file():
            files.append(root)
        else:
            raise SeedError(f"{seed_file}: field `sources.documents`: no such file {pattern!r}",
                            hint=f"check the path; it is relative to {base}")
    return list(dict.fromkeys(files))


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def document_units(seed: SeedTask, seed_file: Path) -> list[Unit]:
    src = seed.sources
    assert src is not None
    out: list[Unit] = []
    for path in _documents(src, seed.base, seed_file):
        text, data = read_document(path, max_bytes=int(src.max_file_mb * 1e6))
        digest = _digest(data)
        for span in chunk(text, src.chunk_chars, src.chunk_overlap):
            out.append(Unit(id=record_id("chunk", digest, span.start, span.end)[:16],
                            kind="chunk", file=_shown(path, seed.base),
                            text=text[span.start:span.end], start=span.start, end=span.end,
                            heading=span.heading))
    return out


def table_units(seed: SeedTask, seed_file: Path) -> list[Unit]:
    src = seed.sources
    assert src is not None and src.table is not None
    path = Path(src.table) if Path(src.table).is_absolute() else seed.base / src.table
    if not path.is_file():
        raise SeedError(f"{seed_file}: field `sources.table`: no such file {src.table!r}",
                        hint=f"check the path; it is relative to {seed.base}")
    table = read_table(path, max_bytes=int(src.max_file_mb * 1e6))
    texts = {"task": seed.task, **{f"examples.{i}.instruction": ex.instruction
                                   for i, ex in enumerate(seed.examples)}}
    check_columns(table, texts, seed_file, path)
    digest = _digest(path.read_bytes())
    shown = _shown(path, seed.base)
    return [Unit(id=record_id("row", digest, i)[:16], kind="row", file=shown,
                 text=row_text(row), row=i, fields=row)
            for i, row in enumerate(table.to_dict(orient="records"))]


def units(seed: SeedTask, rng_seed: int) -> list[Unit]:
    """The seed's units in the order its calls take them ([] for a seed without sources)."""
    src = seed.sources
    if src is None:
        return []
    where = seed.file
    made = table_units(seed, where) if src.kind == "table" else document_units(seed, where)
    if not made:
        raise SeedError(f"{where}: field `sources`: the sources hold no text",
                        hint="point the seed at documents or a table with content")
    if src.shuffle:
        random.Random(f"{rng_seed}:{seed.id}:sources").shuffle(made)
    return made[:src.sample] if src.sample else made


def unit_for(units_: list[Unit], sample: int) -> Unit:
    """The unit call number `sample` is about."""
    return units_[sample % len(units_)]
