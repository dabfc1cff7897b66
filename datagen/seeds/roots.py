"""Where a grounded seed's sources may be read from, and finding them there.

A seed file is shared and taken as a parameter, and what its sources hold is sent to the
endpoint: so every source path and glob is resolved (symlinks followed) and must land inside
an allowed root. The roots are the seed file's own folder and the folders listed explicitly
by the seed (`sources.roots`) or the run config (`source_roots`). `/proc`, `/sys` and `/dev`
are never read or walked, whatever is allowed: their files are the machine's own, or endless.

Globs are walked here, not by `glob.glob`, which follows symlinked folders out of the seed's
folder, walks whatever it is pointed at and cannot be stopped (`/proc/**` never ends). This
walk starts at the pattern's literal folder (which must be allowed), never follows a symlinked
folder under `**`, skips hidden names as `glob` does, and is bounded in the folder entries it
looks at, its depth, the time it takes and the files it may match.

`source_files` is the one check: a run's plan, `estimate` and `seeds validate` all find a
seed's sources through it.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from datagen.errors import SeedError
from datagen.seeds.limits import WALK_DEPTH, WALK_ENTRIES, WALK_SECONDS
from datagen.seeds.schema import SeedTask

NEVER = (Path("/proc"), Path("/sys"), Path("/dev"))
_MOVE = ("move the file under the seed's folder, or list its folder in the seed's "
         "`sources.roots` (or the run config's `source_roots`)")


@dataclass(frozen=True)
class SourceFile:
    """One file a seed reads: where it really is, how records name it, the seed field that
    names it and its size in bytes."""

    path: Path
    shown: str
    field: str
    size: int


class Walk:
    """What a seed's globs may still look at: folder entries and time, shared by its
    patterns."""

    def __init__(self, entries: int = WALK_ENTRIES, seconds: float = WALK_SECONDS) -> None:
        self.entries, self.seconds = entries, seconds
        self._left = entries
        self._deadline = time.monotonic() + seconds

    def spend(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise _Exceeded(f"looks at more than {self.entries:,} folder entries")
        if time.monotonic() > self._deadline:
            raise _Exceeded(f"walks for longer than {self.seconds:g} s")


class _Exceeded(Exception):
    """A glob passed a bound; turned into a SeedError naming the seed, field and pattern."""

    def __init__(self, message: str, hint: str = "narrow the pattern: start it at the "
                 "folder that holds the files, without `**` over large trees") -> None:
        super().__init__(message)
        self.hint = hint


def never(path: Path) -> Path | None:
    """The never-read folder a resolved path lies under, or None."""
    return next((n for n in NEVER if path.is_relative_to(n)), None)


def _kind(path: Path) -> str:
    """file, folder, other (a pipe, a socket, a device: never read) or missing."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return "missing"
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def _under(real: Path, bad: Path) -> str:
    return "" if real == bad else f", under {bad}"


def allowed_roots(seed: SeedTask, extra: Sequence[str | Path] = ()) -> list[Path]:
    """The resolved folders the seed's sources may be read from: its own folder, the seed's
    `sources.roots` (relative to its folder) and `extra` (the run config's `source_roots`)."""
    base = seed.base.resolve()
    listed = [(f"field `sources.roots[{i}]`", seed.base / r, "relative to the seed's folder")
              for i, r in enumerate(seed.sources.roots if seed.sources else [])]
    listed += [(f"`source_roots[{i}]` (run config or --root)", Path(r),
                "relative to the run config's folder, or on the command line to the current "
                "one") for i, r in enumerate(extra)]
    roots = [base]
    for where, root, relative in listed:
        try:
            real = root.resolve()
        except (RuntimeError, OSError) as exc:  # a symlink loop
            raise SeedError(f"{seed.file}: {where}: {root} cannot be resolved ({exc})",
                            hint="fix or remove the symlink") from None
        if (bad := never(real)) is not None:
            raise SeedError(f"{seed.file}: {where}: {root}{_under(real, bad)}, which is never "
                            "read",
                            hint="list a folder of ordinary files")
        if _kind(real) != "folder":
            raise SeedError(f"{seed.file}: {where}: no such folder {root}",
                            hint=f"check the path; it is {relative}")
        roots.append(real)
    return roots


def _shown(path: Path, roots: list[Path]) -> str:
    """How records name a file: relative to the seed's folder, else its root's name and the
    path under it (no machine paths in a dataset)."""
    if path.is_relative_to(roots[0]):
        return path.relative_to(roots[0]).as_posix()
    root = next(r for r in roots[1:] if path.is_relative_to(r))
    return (Path(root.name) / path.relative_to(root)).as_posix()


class _Finder:
    """One seed's patterns, checked against its roots."""

    def __init__(self, seed: SeedTask, roots: list[Path], walk: Walk) -> None:
        self.seed, self.roots, self.walk = seed, roots, walk

    def real(self, field: str, given: str, path: Path) -> Path:
        """The path with every symlink resolved; a loop is an error naming the field."""
        try:
            return path.resolve()
        except (RuntimeError, OSError, ValueError) as exc:  # a symlink loop, a NUL byte
            raise SeedError(f"{self.seed.file}: field `{field}`: {given!r}: {path} cannot be "
                            f"resolved ({exc})", hint="fix or remove the symlink") from None

    def refuse(self, field: str, given: str, real: Path, what: str = "resolves to") -> None:
        """Raise unless the resolved path is inside an allowed root and not never-read."""
        where = f"{self.seed.file}: field `{field}`: {given!r} {what} {real}"
        if (bad := never(real)) is not None:
            raise SeedError(f"{where}{_under(real, bad)}, which is never read",
                            hint="copy the text you need into a file under the seed's folder")
        if not any(real.is_relative_to(r) for r in self.roots):
            raise SeedError(f"{where}, outside the seed's folder {self.roots[0]}"
                            + (" and its allowed roots" if len(self.roots) > 1 else ""),
                            hint=_MOVE)

    def one(self, field: str, given: str) -> Path:
        """A path without glob characters: the real file it names."""
        path = Path(given) if Path(given).is_absolute() else self.seed.base / given
        real = self.real(field, given, path)
        self.refuse(field, given, real)
        kind = _kind(real)
        if kind == "folder":
            raise SeedError(f"{self.seed.file}: field `{field}`: {given!r} is a folder",
                            hint=f"name its files, or a glob such as '{given}/*.md'")
        if kind == "other":
            raise SeedError(f"{self.seed.file}: field `{field}`: {given!r} is not a regular "
                            "file (a pipe, a socket or a device)",
                            hint="copy its text into a file under the seed's folder")
        if kind == "missing":
            raise SeedError(f"{self.seed.file}: field `{field}`: no such file {given!r}",
                            hint=f"check the path; it is relative to {self.seed.base}")
        return real

    def many(self, field: str, pattern: str, limit: int) -> list[Path]:
        """A glob's real files, sorted; more than `limit` is an error."""
        path = Path(pattern) if Path(pattern).is_absolute() else self.seed.base / pattern
        parts = path.parts
        cut = next(i for i, p in enumerate(parts) if glob.has_magic(p))
        start = self.real(field, pattern, Path(*parts[:cut]))
        self.refuse(field, pattern, start, "searches")
        found: dict[Path, None] = {}
        try:
            for hit, entry in self._walk(field, pattern, start, parts[cut:]):
                if entry is not None and not entry.is_symlink():
                    # listed in a real, checked folder: it is its own real path
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    found[hit] = None
                else:
                    try:
                        real = hit.resolve()
                    except (RuntimeError, OSError):  # a symlink loop: a glob passes it by
                        continue
                    if _kind(real) != "file":
                        continue
                    self.refuse(field, pattern, real, f"matches {hit}, which resolves to")
                    found[real] = None
                if len(found) > limit:
                    raise _Exceeded("matches more files than the seed may read "
                                    "(`sources.max_files`)",
                                    "narrow the pattern to the files you mean, or raise "
                                    "`sources.max_files` in the seed")
        except _Exceeded as exc:
            raise SeedError(f"{self.seed.file}: field `{field}`: {pattern!r} {exc}",
                            hint=exc.hint) from None
        if not found:
            raise SeedError(f"{self.seed.file}: field `{field}`: {pattern!r} matches no file",
                            hint=f"check the pattern; it is relative to {self.seed.base}")
        return sorted(found)

    def _entries(self, folder: Path) -> Iterator[os.DirEntry[str]]:
        if never(folder) is not None:
            return
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    self.walk.spend()
                    yield entry
        except OSError:  # unreadable or gone: nothing to match there
            return

    def _enter(self, field: str, pattern: str, folder: Path) -> Path | None:
        """A folder a segment names, resolved and checked; None if it is not one."""
        try:
            real = folder.resolve()
        except (RuntimeError, OSError):
            return None
        if _kind(real) != "folder":
            return None
        self.refuse(field, pattern, real, f"enters {folder}, which resolves to")
        return real

    def _walk(self, field: str, pattern: str, folder: Path, parts: tuple[str, ...],
              depth: int = 0) -> Iterator[tuple[Path, os.DirEntry[str] | None]]:
        """What the pattern's `parts` match under a real, checked folder: each path with the
        folder entry it was listed as (None for a literal name, which may be anything)."""
        if not parts:
            yield folder, None
            return
        if depth > WALK_DEPTH:
            raise _Exceeded(f"goes more than {WALK_DEPTH} folders deep")
        seg, rest = parts[0], parts[1:]
        if seg == "**":  # any depth, real sub-folders only (no symlinked folder is followed)
            if rest:
                yield from self._walk(field, pattern, folder, rest, depth)
            for entry in self._entries(folder):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    yield from self._walk(field, pattern, Path(entry.path), parts, depth + 1)
                elif not rest:
                    yield Path(entry.path), entry
        elif glob.has_magic(seg):
            for entry in self._entries(folder):
                if entry.name.startswith(".") and not seg.startswith("."):
                    continue
                if not fnmatch(entry.name, seg):
                    continue
                if not rest:
                    yield Path(entry.path), entry
                elif (real := self._enter(field, pattern, Path(entry.path))) is not None:
                    yield from self._walk(field, pattern, real, rest, depth + 1)
        elif not rest:
            yield folder / seg, None
        elif (real := self._enter(field, pattern, folder / seg)) is not None:
            yield from self._walk(field, pattern, real, rest, depth + 1)


def source_files(seed: SeedTask, roots: Sequence[str | Path] = (),
                 walk: Walk | None = None) -> list[SourceFile]:
    """The files a grounded seed reads ([] for one without sources), each checked to lie in
    an allowed root, within the seed's bounds on files and bytes; SeedErrors name the seed
    file, the field, the path and the fix."""
    src = seed.sources
    if src is None:
        return []
    allowed = allowed_roots(seed, roots)
    finder = _Finder(seed, allowed, walk or Walk())
    named: dict[Path, str] = {}
    if src.table is not None:
        named[finder.one("sources.table", src.table)] = "sources.table"
    for i, pattern in enumerate(src.documents):
        field = f"sources.documents[{i}]"
        if glob.has_magic(pattern):
            found = finder.many(field, pattern, src.max_files - len(named))
        else:
            found = [finder.one(field, pattern)]
        for path in found:
            named.setdefault(path, field)
    if len(named) > src.max_files:
        raise SeedError(f"{seed.file}: field `sources.documents`: {len(named):,} files, more "
                        f"than the {src.max_files:,} a seed may read", hint="name fewer files, "
                        "or raise `sources.max_files` in the seed")
    files = [SourceFile(path=p, shown=_shown(p, allowed), field=f, size=p.stat().st_size)
             for p, f in named.items()]
    total = sum(f.size for f in files)
    if total > src.max_total_mb * 1e6:
        raise SeedError(f"{seed.file}: field `sources`: {len(files)} files, "
                        f"{total / 1e6:.1f} MB in all, over the limit of "
                        f"{src.max_total_mb:g} MB", hint="name fewer files, or raise "
                        "`sources.max_total_mb` in the seed")
    return files
