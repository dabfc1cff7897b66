"""The run folder is a unit: recognised, locked, and published one generation at a time.

    outputs/<run>/
      config.json            the resolved config (secrets redacted), with the schema marker
      cache.sqlite           every LLM answer (resume and reruns read it first)
      verdicts.jsonl         human verdicts, merged by `datagen curate --verdicts`
      sources.jsonl          grounded seeds' chunks and rows, as their prompts saw them
      stages/                the Prefect flow's persisted stage results
      records.partial.parquet  what exists so far while generating (removed once exported)
      generations/00003/     one export: records.parquet, rejected.jsonl, manifest.json,
                             report.md, report.html, openai/, hf/ (+ alpaca/, sharegpt/)
      current -> generations/00003
      manifest.json -> current/manifest.json, hf -> current/hf, ... (one link per entry)

- **Read through one reader.** `read_config()` checks `config.json` whole (its `config` a
  valid run config, its `seed_tasks` valid seeds), `read_manifest()` the manifest's sections,
  and each names the file, the key and the fix when a part is missing or damaged: every
  command that reads a run folder goes through them.
- **Recognised.** `--out` must be absent, empty, or a datagen run folder (a `config.json`
  carrying `SCHEMA`). Anything else, `/` and the home folder included, is refused before any
  work, so a run never overwrites a user's files.
- **Locked.** `run`, `curate`, `push` and each scheduled run hold an exclusive lock
  (`filelock`) on `.datagen.lock`; a second process is refused with the holder's pid.
- **One generation.** An export is written into `generations/.staging-<id>/`, then renamed
  and made `current` by replacing one symlink: readers see the whole old export or the whole
  new one, never a mix, and every part carries the same generation id (the manifest's
  `generation_id`, `hf/.generation`, `openai/.generation`). A staging folder left by a killed
  process is removed by the next one; the previous generation is kept, older ones go.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datagen.config import validated
from datagen.errors import ConfigError
from datagen.export.hf import GENERATION_FILE
from datagen.files import locked, read_json
from datagen.seeds import SeedTask

SCHEMA = "datagen-run/1"
ENTRIES = ("records.parquet", "rejected.jsonl", "manifest.json", "report.md", "report.html",
           "report_files", "openai", "hf", "alpaca", "sharegpt")
KEEP_GENERATIONS = 2
# what a manifest holds for its readers (the report above all), and what its counts hold
MANIFEST_SECTIONS = {"run_id": str, "endpoint": dict, "counts": dict, "per_seed": dict,
                     "split": dict, "timings_s": dict}
MANIFEST_COUNTS = ("generated", "kept", "by_reason")
LOCK_FILES = (".datagen.lock", ".datagen.lock.json")  # `datagen.files.locked`'s
DAMAGED = ("the run folder's config.json is damaged: restore it, or rerun `datagen run` with "
           "the same seeds into a new --out folder")


class RunFolder:
    """Paths of one run folder (`outputs/<run>/`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def ensure(self) -> RunFolder:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    config = property(lambda self: self.root / "config.json")
    cache = property(lambda self: self.root / "cache.sqlite")
    verdicts = property(lambda self: self.root / "verdicts.jsonl")  # a reviewer's, merged
    stages = property(lambda self: self.root / "stages")
    partial = property(lambda self: self.root / "records.partial.parquet")
    generations = property(lambda self: self.root / "generations")
    current = property(lambda self: self.root / "current")
    records = property(lambda self: self.root / "records.parquet")
    rejected = property(lambda self: self.root / "rejected.jsonl")
    manifest = property(lambda self: self.root / "manifest.json")
    report = property(lambda self: self.root / "report.md")
    report_html = property(lambda self: self.root / "report.html")
    openai = property(lambda self: self.root / "openai")
    hf = property(lambda self: self.root / "hf")
    topics = property(lambda self: self.root / "topics")
    sources = property(lambda self: self.root / "sources.jsonl")  # grounded seeds' units

    def generation(self) -> str | None:
        """The id of the current generation, or None before the first export."""
        return os.readlink(self.current).rsplit("/", 1)[-1] if self.current.is_symlink() \
            else None

    def read_config(self) -> dict[str, Any]:
        """`config.json`, checked whole: the schema marker, a valid run config under `config`
        and valid seeds under `seed_tasks`; else a ConfigError naming the file and the key."""
        data = read_json(self.config, what="run config",
                         fix="pass a run folder written by `datagen run`")
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ConfigError(f"{self.config}: not a datagen run config",
                              hint="pass a run folder written by `datagen run`")
        config = data.get("config")
        if not isinstance(config, dict):
            said = "is missing" if config is None else f"is a {type(config).__name__}, " \
                "not a mapping of run config keys"
            raise ConfigError(f"{self.config}: key `config` {said}", hint=DAMAGED)
        try:
            validated({**config, "out": str(self.root)}, f"{self.config} (key `config`)")
        except ConfigError as exc:
            raise ConfigError(exc.message, hint=DAMAGED) from None
        seeds = data.get("seed_tasks", [])
        if not isinstance(seeds, list):
            raise ConfigError(f"{self.config}: key `seed_tasks` is a {type(seeds).__name__}, "
                              "not a list of seeds", hint=DAMAGED)
        for i, seed in enumerate(seeds):
            stored_seed(seed, f"{self.config}: key `seed_tasks[{i}]`")
        return data

    def read_manifest(self) -> dict[str, Any]:
        """The current generation's `manifest.json`, checked for the sections every reader
        (report, re-curation, push) relies on; else a ConfigError naming the file and key."""
        fix = "rerun `datagen curate` on the run folder to write its exports and manifest again"
        data = read_json(self.manifest, what="manifest", fix=fix)
        if not isinstance(data, dict):
            raise ConfigError(f"{self.manifest}: not a datagen manifest (a "
                              f"{type(data).__name__}, not a mapping)", hint=fix)
        for key, kind in MANIFEST_SECTIONS.items():
            if not isinstance(data.get(key), kind):
                said = "is missing" if key not in data else \
                    f"is a {type(data[key]).__name__}, not a {kind.__name__}"
                raise ConfigError(f"{self.manifest}: key `{key}` {said}", hint=fix)
        for key in MANIFEST_COUNTS:
            if key not in data["counts"]:
                raise ConfigError(f"{self.manifest}: key `counts.{key}` is missing", hint=fix)
        return data


def stored_seed(data: Any, where: str = "config.json") -> SeedTask:
    """A seed as `config.json` stores it. Its dump lists every strategy, `None` for those
    off, where a seed file's bare `bootstrap:` (also None) means on: drop them first.
    Anything else is a ConfigError naming `where` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is a {type(data).__name__}, not a seed", hint=DAMAGED)
    strategies = data.get("strategies")
    if isinstance(strategies, dict):
        data = {**data, "strategies": {k: v for k, v in strategies.items() if v is not None}}
    try:
        return SeedTask.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{where}: field `{field}`: {err['msg']}", hint=DAMAGED) from None


def is_run_folder(path: Path) -> bool:
    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("schema") == SCHEMA


def _writable(path: Path) -> bool:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def absolute(path: str | Path) -> Path:
    """`path` absolute, `~` expanded and `..` resolved lexically (no stray folder made)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def check_out(path: str | Path, *, flag: str = "--out") -> Path:
    """The run folder to use, as an absolute path with `..` resolved lexically (so no stray
    folder is created on the way), or a ConfigError saying why it cannot be used."""
    p = absolute(path)
    if p == Path(p.anchor) or p == Path.home():
        what = "/" if p == Path(p.anchor) else "the home folder"
        raise ConfigError(f"{flag} {p}: refusing to use {what} as a run folder",
                          hint=f"give a new folder, e.g. {flag} outputs/my-run")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{flag} {p}: is a file, not a folder",
                          hint=f"give a folder that does not exist yet, e.g. {flag} outputs/my-run")
    if p.is_dir() and not is_run_folder(p) and any(
            c.name not in LOCK_FILES for c in p.iterdir()):  # a run killed as it began
        raise ConfigError(
            f"{flag} {p}: the folder is not empty and is not a datagen run folder",
            hint="give a new or empty folder: a run writes and replaces files in its run folder")
    if not _writable(p):
        raise ConfigError(f"{flag} {p}: not writable",
                          hint="check the folder's permissions, or give another folder")
    return p


def check_free(path: Path) -> None:
    """FolderBusy now, before anything starts, when another process holds the folder's lock
    (the run takes it again when it starts: this only tells it early)."""
    if path.is_dir() and (path / ".datagen.lock").exists():
        with locked(path, "check"):
            pass


class Staging:
    """One export being written: `with Staging(folder) as stage: ... write stage.path(...)`;
    on success it becomes the current generation in one step."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        folder.generations.mkdir(parents=True, exist_ok=True)
        clean_stale(folder)
        known = [int(p.name) for p in folder.generations.iterdir() if p.name.isdigit()]
        self.generation = f"{max(known, default=0) + 1:05d}"
        self.root = folder.generations / f".staging-{self.generation}"
        self.root.mkdir()

    def path(self, name: str) -> Path:
        return self.root / name

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        self.commit()

    def commit(self) -> None:
        for name in ("openai", "hf"):
            if self.path(name).is_dir():
                (self.path(name) / GENERATION_FILE).write_text(self.generation + "\n")
        final = self.folder.generations / self.generation
        os.replace(self.root, final)
        tmp = self.folder.root / f".current.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(f"generations/{self.generation}", tmp)
        os.replace(tmp, self.folder.current)  # the one atomic step
        for name in ENTRIES:
            link = self.folder.root / name
            present = (final / name).exists()
            if link.is_symlink() and not present:
                link.unlink()
            elif present and not link.is_symlink():
                if link.exists():  # left by another tool: never ours to delete silently
                    raise ConfigError(f"{link}: in the way of the export",
                                      hint="move it out of the run folder")
                os.symlink(f"current/{name}", link)
        prune(self.folder)


def clean_stale(folder: RunFolder) -> None:
    """Remove staging folders left by a process that was killed while exporting."""
    if folder.generations.is_dir():
        for p in folder.generations.iterdir():
            if p.name.startswith(".staging-"):
                shutil.rmtree(p, ignore_errors=True)
    for p in folder.root.glob(".current.*"):
        p.unlink(missing_ok=True)


def prune(folder: RunFolder) -> None:
    """Keep the current generation and the one before it."""
    gens = sorted(p for p in folder.generations.iterdir() if p.name.isdigit())
    for p in gens[:-KEEP_GENERATIONS]:
        shutil.rmtree(p, ignore_errors=True)


def generation_of(path: Path) -> str | None:
    """The generation id written into an exported folder (hf/, openai/)."""
    try:
        return (path / GENERATION_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
