"""What every source file must pass before it is read: a known type and the size limit."""

from __future__ import annotations

from pathlib import Path

from datagen.errors import SeedError


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
