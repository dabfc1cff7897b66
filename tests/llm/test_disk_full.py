"""A full disk is one clear error naming the file and the fix, and what was done is kept: the
LLM answer cache (SQLite: "database or disk is full") and datagen's atomic writes (OSError 28)
on a real, small tmpfs. Skipped where mounting one is not permitted."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from datagen.errors import DatagenError
from datagen.files import write_json, write_parquet
from datagen.llm.wire import Completion
from tests.llm.helpers import PARAMS, ask, make_client
from tests.scripted_server import Reply, ScriptedServer


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs: a disk that really fills up."""
    where = tmp_path / "disk"
    where.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here ({type(exc).__name__})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def _fill(disk: Path) -> None:
    """Use up every byte of the disk."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_the_cache_on_a_full_disk_names_it_and_keeps_what_was_stored(small_disk: Path) -> None:
    cache = small_disk / "run" / "cache.sqlite"
    with ScriptedServer(lambda body, n: Reply("word " * 20_000)) as server:  # ~100 KB each
        client = make_client(server.base_url, cache)

        async def until_full() -> tuple[list[Completion], BaseException]:
            done: list[Completion] = []
            try:
                for i in range(100):
                    done.append(await client.chat(ask(f"q{i}"), params=PARAMS))
            except Exception as exc:  # noqa: BLE001 - the test looks at what it is
                return done, exc
            finally:
                await client.aclose()
            raise AssertionError("a 1 MB disk took 10 MB of answers")

        done, error = asyncio.run(until_full())
    assert isinstance(error, DatagenError), repr(error)
    assert str(cache) in error.message and "no space left" in error.message
    assert error.hint and "free space" in error.hint
    assert done  # some answers fit before the disk filled
    (small_disk / "room").write_bytes(b"")  # the disk is still there, and still full
    rows = sqlite3.connect(f"file:{cache}?mode=ro", uri=True).execute(
        "SELECT key FROM responses").fetchall()
    assert {d.key for d in done} <= {k for (k,) in rows}  # every answer handed out is kept


def test_atomic_writes_on_a_full_disk_name_the_file(small_disk: Path) -> None:
    (small_disk / "run").mkdir()
    write_json(small_disk / "run" / "kept.json", {"ok": True})
    _fill(small_disk)
    target = small_disk / "run" / "manifest.json"
    with pytest.raises(DatagenError, match="no space left") as info:
        write_json(target, {"rows": ["x" * 1000] * 100})
    assert str(target) in info.value.message and "free space" in (info.value.hint or "")
    frame = pd.DataFrame({"text": ["y" * 1000] * 200})
    with pytest.raises(DatagenError, match="records.parquet: no space left"):
        write_parquet(small_disk / "run" / "records.parquet", frame)
    assert sorted(p.name for p in (small_disk / "run").iterdir()) == ["kept.json"]  # no debris


def test_a_run_that_fills_its_disk_stops_with_one_error_and_resumes(prefect_harness,
                                                                     small_disk: Path) -> None:
    """The run stops on the first write that finds no room, with the one error; once there is
    room again, the same command goes on and asks nothing twice."""
    from tests.cli import cli
    from tests.conftest import NDA_SEED
    from tests.flows.world import handler

    def long_answers(body: dict, n: int) -> Reply:
        if "numbered list" in body["messages"][-1]["content"]:
            return handler(body, n)
        return Reply("word " * 8_000)  # ~40 KB: a 1 MB disk holds a few

    out = small_disk / "run"
    args = ("run", NDA_SEED, "--pairs", "30", "--out", out, "--model", "test-model",
            "--allow-short", "--allow-empty")  # answers this long fail the length filter
    with ScriptedServer(long_answers) as server:
        code, printed = cli(*args, "--base-url", server.base_url)
        assert code == DatagenError.exit_code, printed[-3000:]
        assert f"error: {out / 'cache.sqlite'}: no space left on the disk" in printed
        assert "fix: free space on that disk" in printed
        kept = _keys(out / "cache.sqlite")
        assert kept  # what was answered before the disk filled
        subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True,
                       timeout=30)
        asked = len(server.requests)
        code, printed = cli(*args, "--base-url", server.base_url)
        assert code == 0, printed[-3000:]
        again = len(server.requests) - asked
    after = _keys(out / "cache.sqlite")
    assert kept <= after and len(after) == len(kept) + again  # nothing was asked twice


def _keys(cache: Path) -> set[str]:
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as conn:
        return {k for (k,) in conn.execute("SELECT key FROM responses")}
