"""Atomic writes, folder locks, and reads that fail with a message naming the file.

Every file is written to a temporary sibling and renamed into place; folders are built beside
their destination and swapped in, so a crash never leaves a half-written file behind. A file
datagen reads back (a manifest, a config, records) that is missing or corrupt gives a
`DatagenError` saying which file and what to do, never a traceback. A write that finds the
disk full (`OSError` ENOSPC, SQLite's "database or disk is full") is one `DatagenError`
naming the file and the fix (`out_of_space`), whichever writer hit it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from filelock import FileLock, Timeout

from datagen.errors import DatagenError, FolderBusy

_UMASK = os.umask(0)
os.umask(_UMASK)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException) -> BaseException | None:
    """The error behind `exc` (itself, or what it was raised from) that says its write found
    the disk full or over quota: an `OSError` (ENOSPC, EDQUOT) or SQLite's SQLITE_FULL; None
    when something else stopped it. A full disk is an outcome to tell in one line."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and (cur.errno in DISK_FULL
                                         or "No space left on device" in str(cur)):
            return cur
        if isinstance(cur, sqlite3.Error) and (
                getattr(cur, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "disk is full" in str(cur)):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def out_of_space(path: str | Path) -> DatagenError:
    """The error for a write that found the disk full: which file, and what to do."""
    path = Path(path)
    return DatagenError(
        f"{path}: no space left on the disk that holds {path.parent} (the write failed; "
        "what was written before is kept)",
        hint=f"free space on that disk (`df -h {path.parent}`), then rerun the same command: "
        "completed LLM calls are in the run folder's cache and are not paid for again")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it into place on success. A symlink is
    written through (the run folder's entries link into its current generation)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _on_disk(path, tempfile.mkstemp, prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files follow the umask
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if disk_full(exc):
            raise out_of_space(path) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object a line, streamed (a million lines never make one string); return
    the lines written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def _on_disk(path: Path, make: Any, **kwargs: Any) -> Any:
    """`make(**kwargs)` (a temporary file or folder beside `path`), a full disk told as such."""
    try:
        return make(**kwargs)
    except OSError as exc:
        if disk_full(exc):
            raise out_of_space(path) from None
        raise


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; it replaces `path` whole on success."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(_on_disk(path, tempfile.mkdtemp, prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        try:
            yield tmp
        except OSError as exc:
            if disk_full(exc):
                raise out_of_space(path) from None
            raise
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_json(path: str | Path, *, what: str = "file", fix: str = "") -> Any:
    """A JSON file's content; missing, unreadable or corrupt: a DatagenError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatagenError(f"{path}: missing {what}", hint=fix or "check the path") from None
    except IsADirectoryError:
        raise DatagenError(f"{path}: is a folder, not a {what}", hint=fix or "check the path") \
            from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DatagenError(f"{path}: corrupt {what} ({type(exc).__name__})",
                           hint=fix or "restore or delete the file") from None
    except OSError as exc:
        raise DatagenError(f"{path}: cannot read the {what}: {exc.strerror}",
                           hint=fix or "check the file's permissions") from None


def read_json_lines(path: str | Path, *, what: str = "file", fix: str = "") -> list[Any]:
    """A JSON Lines file's rows (blank lines skipped); corrupt: a DatagenError naming it."""
    path = Path(path)
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    except FileNotFoundError:
        raise DatagenError(f"{path}: missing {what}", hint=fix or "check the path") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DatagenError(f"{path}: corrupt {what} ({type(exc).__name__})",
                           hint=fix or "restore or delete the file") from None


def read_parquet(path: str | Path, *, what: str = "records", fix: str = "") -> pd.DataFrame:
    """A Parquet file as a frame; missing or corrupt: a DatagenError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatagenError(f"{path}: missing {what}", hint=fix or "check the path")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DatagenError(f"{path}: corrupt {what} ({type(exc).__name__}: "
                           f"{str(exc)[:120]})", hint=fix or "restore or delete the file") from None


@contextmanager
def locked(root: str | Path, command: str) -> Iterator[None]:
    """Hold the folder's exclusive lock for the block; FolderBusy if another process has it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / ".datagen.lock"), thread_local=False)
    info = root / ".datagen.lock.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            holder = {}
        who = f"pid {holder.get('pid', '?')} (`datagen {holder.get('command', '?')}`, since " \
              f"{holder.get('since', '?')})"
        raise FolderBusy(f"{root} is in use by {who}",
                         hint="wait for that process to finish, or stop it; a process that "
                              "died leaves no lock behind") from None
    try:
        write_json(info, {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                          "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()


YAML_NODES = 1_000_000  # values a YAML document may stand for, its aliases expanded
YAML_DEPTH = 200        # nesting of its collections


def parse_yaml(text: str) -> Any:
    """A YAML document (safe loader) that cannot stand for more than it says: aliases are
    shared objects, so a few kilobytes of nested aliases ("billion laughs") load fast but
    stand for 10**9 values that validation and JSON then walk; and a deep nesting overflows
    the parser's recursion. Both are `yaml.YAMLError`s, as a syntax error is."""
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise yaml.YAMLError(f"nested deeper than Python can parse (keep it under "
                             f"{YAML_DEPTH} levels)") from None
    sizes: dict[int, int] = {}  # id -> values it stands for, each shared object counted once
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if not isinstance(node, dict | list) or (not done and id(node) in sizes):
            continue
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        if done:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[id(node)] > YAML_NODES:
                raise yaml.YAMLError(f"stands for more than {YAML_NODES:,} values once its "
                                     "aliases (*name) are expanded")
            continue
        if depth > YAML_DEPTH:
            raise yaml.YAMLError(f"nested deeper than {YAML_DEPTH} levels")
        sizes[id(node)] = 1  # a cycle (an alias to an enclosing node) counts once
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children)
    return data
