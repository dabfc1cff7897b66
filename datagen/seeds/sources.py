"""A grounded seed's units: the chunks of its documents, or the rows of its table.

Each unit has a stable id (a hash of the file's content and the unit's position), the file it
came from (as the seed names it), its character span or row number, and its text: what the
instruction is asked about and what the response is written from. `units` returns them in
the order a seed's calls take them: seeded (`sources.shuffle`) and cut to `sources.sample`,
so call number `k` is about unit `k mod n` and every unit gets its turn before any gets two.
Which files are read, and from where, is decided by `roots.source_files` alone.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datagen.errors import SeedError
from datagen.records import record_id
from datagen.seeds.chunks import chunk
from datagen.seeds.documents import read_document
from datagen.seeds.limits import read_bounded
from datagen.seeds.roots import SourceFile, source_files
from datagen.seeds.schema import SeedTask
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


def document_units(seed: SeedTask, files: list[SourceFile]) -> list[Unit]:
    src = seed.sources
    assert src is not None
    out: list[Unit] = []
    for f in files:
        text, data = read_document(f.path, max_bytes=int(src.max_file_mb * 1e6))
        digest = _digest(data)
        for span in chunk(text, src.chunk_chars, src.chunk_overlap):
            out.append(Unit(id=record_id("chunk", digest, span.start, span.end)[:16],
                            kind="chunk", file=f.shown,
                            text=text[span.start:span.end], start=span.start, end=span.end,
                            heading=span.heading))
    return out


def table_units(seed: SeedTask, files: list[SourceFile]) -> list[Unit]:
    src = seed.sources
    assert src is not None and len(files) == 1
    path = files[0].path
    max_bytes = int(src.max_file_mb * 1e6)
    table = read_table(path, max_bytes=max_bytes)
    texts = {"task": seed.task, **{f"examples.{i}.instruction": ex.instruction
                                   for i, ex in enumerate(seed.examples)}}
    check_columns(table, texts, seed.file, path)
    digest = _digest(read_bounded(path, max_bytes))
    return [Unit(id=record_id("row", digest, i)[:16], kind="row", file=files[0].shown,
                 text=row_text(row), row=i, fields=row)
            for i, row in enumerate(table.to_dict(orient="records"))]


def units(seed: SeedTask, rng_seed: int, roots: Sequence[str | Path] = ()) -> list[Unit]:
    """The seed's units in the order its calls take them ([] for a seed without sources).
    `roots`: folders the run config allows beside the seed's own (`source_roots`)."""
    src = seed.sources
    if src is None:
        return []
    files = source_files(seed, roots)
    made = table_units(seed, files) if src.kind == "table" else document_units(seed, files)
    if not made:
        raise SeedError(f"{seed.file}: field `sources`: the sources hold no text",
                        hint="point the seed at documents or a table with content")
    if src.shuffle:
        random.Random(f"{rng_seed}:{seed.id}:sources").shuffle(made)
    return made[:src.sample] if src.sample else made


def unit_for(units_: list[Unit], sample: int) -> Unit:
    """The unit call number `sample` is about."""
    return units_[sample % len(units_)]
