"""How much a seed may hold and make us read: one place for every bound on seed input.

A seed file is something people share and a deployment takes as a parameter, so nothing in it
may make a run read, hold or send without limit: the seed file itself, its text fields, the
source files it names, how many files a glob may match and how long it may walk for them.
"""

from __future__ import annotations

from pathlib import Path

from datagen.errors import SeedError

SEED_FILE_BYTES = 5_000_000  # a YAML seed or a seed_tasks.jsonl, read whole before parsing
TEXT_CHARS = 20_000  # system, task, an example's instruction, input or response
SHORT_CHARS = 2_000  # description, domain, a topic, a persona
LIST_ITEMS = 10_000  # examples, topics, personas
MAX_FILE_MB = 200.0  # the highest `sources.max_file_mb` a seed may set
MAX_TOTAL_MB = 2_000.0  # the highest `sources.max_total_mb`
MAX_FILES = 100_000  # the highest `sources.max_files`
WALK_ENTRIES = 200_000  # folder entries a seed's globs may look at, in all
WALK_SECONDS = 10.0  # time a seed's globs may take to walk, in all
WALK_DEPTH = 64  # folders below a glob's start that a walk may go down


def check_seed_size(path: Path) -> None:
    """A seed file over SEED_FILE_BYTES is refused before it is parsed."""
    size = path.stat().st_size
    if size > SEED_FILE_BYTES:
        raise SeedError(
            f"{path}: {size / 1e6:.1f} MB, over the seed file limit of "
            f"{SEED_FILE_BYTES / 1e6:.0f} MB",
            hint="keep the seed small (persona, task, a few examples); put reference "
                 "material in files named by `sources`")


def check_file(path: Path, suffixes: tuple[str, ...], kind: str, max_bytes: int,
               smaller: str) -> str:
    """The file's lower-case suffix, or a SeedError naming the file and the fix; `smaller`
    says how to make the file fit the limit."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise SeedError(f"{path}: {kind} of type {suffix or '(none)'} cannot be read",
                        hint=f"use one of {', '.join(suffixes)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SeedError(
            f"{path}: {size / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB",
            hint=f"{smaller}, or raise `sources.max_file_mb` in the seed")
    return suffix


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, never more than `max_bytes` of them held: a file that grew past the
    limit after it was checked is refused, not read whole."""
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise SeedError(f"{path}: cannot be read ({exc.strerror})",
                        hint="check the file's permissions") from None
    if len(data) > max_bytes:
        raise SeedError(f"{path}: over the limit of {max_bytes / 1e6:.1f} MB",
                        hint="split the file, or raise `sources.max_file_mb` in the seed")
    return data
