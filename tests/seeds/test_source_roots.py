"""Grounded seeds read only from where they are allowed to: their own folder (symlinks
resolved), the roots the seed or the run config lists, never /proc, /sys or /dev; globs are
bounded in files, folder entries and time; `seeds validate` lists what a seed would read. The
run reads its sources through the very same check, so a refused file never reaches the
endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.config import RunConfig, load_config
from datagen.errors import SeedError
from datagen.run.plan import ground
from datagen.seeds import load_seed
from datagen.seeds.sources import units
from tests.cli import cli
from tests.conftest import SEEDS
from tests.scripted_server import ScriptedServer
from tests.seeds import grounded_world

SECRET = "the launch code is swordfish and nobody may read it"
FIX = "list its folder in the seed's `sources.roots`"
ROOT = Path(__file__).resolve().parents[2]


def _seed(folder: Path, sources: str, name: str = "seed") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"""id: {name}
domain: legal
description: A grounded test seed.
system: You answer from the company's policies.
task: Ask about the policy.
examples:
  - instruction: How long are tickets kept?
sources:
{sources}
""")
    return path


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """tmp/seed/ (the seed's folder, with one policy of its own), tmp/outside/secret.txt and
    tmp/secret.txt (what no seed may read unless allowed)."""
    docs = tmp_path / "seed" / "docs"
    docs.mkdir(parents=True)
    (docs / "policy.md").write_text("# Policy\n\nTickets are kept for two years, then erased "
                                    "by the support team without exception.\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    return tmp_path


def _outside(world: Path, kind: str) -> tuple[Path, str]:
    """A seed whose first source leaves its folder one way: (seed file, the path named)."""
    docs = world / "seed" / "docs"
    if kind == "symlink to a file outside":
        (docs / "passwd.txt").symlink_to(world / "outside" / "secret.txt")
        return _seed(world / "seed", "  documents: [docs/passwd.txt]"), \
            str(world / "outside" / "secret.txt")
    if kind == "../ path":
        return _seed(world / "seed", "  documents: [../outside/secret.txt]"), \
            "../outside/secret.txt"
    if kind == "absolute path":
        secret = world / "outside" / "secret.txt"
        return _seed(world / "seed", f"  documents: ['{secret}']"), str(secret)
    if kind == "../* glob":
        return _seed(world / "seed", "  documents: ['../*']"), f"searches {world}"
    if kind == "glob matching a symlink":
        (docs / "notes.txt").symlink_to(world / "outside" / "secret.txt")
        return _seed(world / "seed", "  documents: ['docs/*.txt']"), "notes.txt"
    if kind == "glob through a symlinked folder":
        (docs / "shared").symlink_to(world / "outside", target_is_directory=True)
        return _seed(world / "seed", "  documents: ['docs/*/*.txt']"), "docs/shared"
    if kind == "table symlinked outside":
        (world / "outside" / "people.csv").write_text("name,salary\nAda,100\n")
        (docs / "people.csv").symlink_to(world / "outside" / "people.csv")
        return _seed(world / "seed", "  table: docs/people.csv"), \
            str(world / "outside" / "people.csv")
    raise AssertionError(kind)


OUTSIDE = ("symlink to a file outside", "../ path", "absolute path", "../* glob",
           "glob matching a symlink", "glob through a symlinked folder",
           "table symlinked outside")


@pytest.mark.parametrize("kind", OUTSIDE)
def test_a_source_outside_the_seed_folder_is_refused(world: Path, kind: str) -> None:
    seed, path = _outside(world, kind)
    code, out = cli("seeds", "validate", seed)
    flat = " ".join(out.split())
    assert code == 2, out
    field = "sources.table" if "table" in kind else "sources.documents[0]"
    assert f"{seed}: field `{field}`" in flat and path in flat, flat
    assert "outside the seed's folder" in flat and FIX in flat, flat
    assert SECRET not in out and "Traceback" not in out


def test_a_run_never_sends_a_file_from_outside(world: Path) -> None:
    seed, _ = _outside(world, "symlink to a file outside")
    out = world / "run"
    with ScriptedServer(grounded_world.handler) as server:
        code, text = cli("run", seed, "--pairs", 2, "--out", out, "--base-url",
                         server.base_url, "--model", "test-model")
        sent = [m["content"] for r in server.requests for m in r.get("messages", [])]
    assert code == 2, text
    assert "outside the seed's folder" in " ".join(text.split())
    assert "Traceback" not in text  # refused before the flow starts
    assert not any(SECRET in s for s in sent)
    stored = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not any(SECRET.encode() in p.read_bytes() for p in stored)


def test_roots_listed_by_the_seed_or_the_run_config_are_allowed(world: Path) -> None:
    seed = _seed(world / "seed", "  documents: [docs/policy.md, ../outside/secret.txt]\n"
                 "  roots: [../outside]", name="allowed")
    code, out = cli("seeds", "validate", seed)
    assert code == 0, out
    flat = " ".join(out.split())
    assert "reads 2 file(s)" in flat and str(world / "outside" / "secret.txt") in flat
    assert f"may read from {world / 'seed'} (its folder) and {world / 'outside'}" in flat
    from datagen.seeds.roots import source_files

    assert {f.shown for f in source_files(load_seed(seed))} == {"docs/policy.md",
                                                                 "outside/secret.txt"}
    # the same seed without its roots: refused in validate, allowed by the run config
    plain = _seed(world / "seed", "  documents: [docs/policy.md, ../outside/secret.txt]",
                  name="plain")
    assert cli("seeds", "validate", plain)[0] == 2
    assert cli("seeds", "validate", plain, "--root", world / "outside")[0] == 0
    config = world / "run.yaml"
    config.write_text(f"seeds: [{plain}]\nsource_roots: [outside]\n")  # relative to the file
    code, out = cli("seeds", "validate", plain, "--config", config)
    assert code == 0, out
    seeds = [load_seed(plain)]
    grounded = ground(load_config(config), seeds)["plain"]
    assert any(SECRET in u.text for u in grounded)
    with pytest.raises(SeedError, match="outside the seed's folder"):
        ground(RunConfig(), seeds)


NEVER = (("  documents: ['/proc/**/*.txt']", "/proc"),
         ("  documents: ['/proc/**/*.txt']\n  roots: ['/']", "/proc"),
         ("  documents: ['/proc/self/status']\n  roots: ['/']", "/proc"),
         ("  documents: ['/dev/zero']\n  roots: ['/']", "/dev"),
         ("  documents: ['docs/*.md']\n  roots: ['/sys']", "/sys"))


@pytest.mark.parametrize(("sources", "place"), NEVER)
def test_proc_sys_and_dev_are_never_read_whatever_is_allowed(world: Path, sources: str,
                                                            place: str) -> None:
    seed = _seed(world / "seed", sources)
    if "**" in sources:  # in a subprocess with a timeout: walking /proc used to hang
        proc = subprocess.run([sys.executable, "-m", "datagen.cli", "seeds", "validate",
                               str(seed)], capture_output=True, text=True, timeout=30,
                              cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
        code, out = proc.returncode, proc.stdout + proc.stderr
    else:
        code, out = cli("seeds", "validate", seed)
    assert code == 2, out
    flat = " ".join(out.split())
    assert str(seed) in flat and place in flat and "which is never read" in flat, flat
    assert "Traceback" not in flat


def _many(world: Path, n: int) -> Path:
    for i in range(n):
        sub = world / "seed" / "docs" / f"part{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"note{i}.md").write_text(f"# Note {i}\n\nTickets are kept for {i} days.\n")
    return world / "seed"


def test_globs_are_bounded_in_files_entries_and_time(world: Path) -> None:
    folder = _many(world, 30)
    seed = _seed(folder, "  documents: ['docs/**/*.md']\n  max_files: 10")
    code, out = cli("seeds", "validate", seed)
    flat = " ".join(out.split())
    assert code == 2, out
    assert f"{seed}: field `sources.documents[0]`: 'docs/**/*.md' matches more files" in flat
    assert "sources.max_files" in flat
    from datagen.seeds.roots import Walk, source_files

    loaded = load_seed(_seed(folder, "  documents: ['docs/**/*.md']", name="walked"))
    assert len(source_files(loaded)) == 31  # 30 notes and the policy
    with pytest.raises(SeedError, match=r"'docs/\*\*/\*\.md' looks at more than 5 folder"):
        source_files(loaded, walk=Walk(entries=5))
    with pytest.raises(SeedError, match=r"'docs/\*\*/\*\.md' walks for longer than 0 s"):
        source_files(loaded, walk=Walk(seconds=0))


def test_a_glob_walk_is_bounded_in_depth(world: Path) -> None:
    deep = world / "seed" / "docs" / "deep"
    (deep / "/".join(["d"] * 70)).mkdir(parents=True)
    (deep / "/".join(["d"] * 70) / "x.md").write_text("# Deep\n\nA policy far down.\n")
    seed = _seed(world / "seed", "  documents: ['docs/deep/**/*.md']")
    code, out = cli("seeds", "validate", seed)
    flat = " ".join(out.split())
    assert code == 2 and "'docs/deep/**/*.md' goes more than 64 folders deep" in flat, flat


def test_star_star_does_not_follow_a_symlinked_folder_out(world: Path) -> None:
    (world / "seed" / "docs" / "shared").symlink_to(world / "outside",
                                                    target_is_directory=True)
    seed = load_seed(_seed(world / "seed", "  documents: ['docs/**/*']"))
    read = units(seed, 0)
    assert {u.file for u in read} == {"docs/policy.md"}
    assert not any(SECRET in u.text for u in read)


def test_sizes_are_bounded(world: Path) -> None:
    seed = _seed(world / "seed", "  documents: [docs/policy.md]\n  max_file_mb: 100000")
    code, out = cli("seeds", "validate", seed)
    assert code == 2 and "sources.max_file_mb" in out, out
    folder = _many(world, 6)
    seed = _seed(folder, "  documents: ['docs/**/*.md']\n  max_total_mb: 0.0001")
    code, out = cli("seeds", "validate", seed)
    flat = " ".join(out.split())
    assert code == 2 and f"{seed}: field `sources`: 7 files" in flat, flat
    assert "sources.max_total_mb" in flat


def test_validate_lists_every_file_a_seed_reads_with_its_size_and_units() -> None:
    seed = SEEDS / "legal" / "privacy_policy_qa.yaml"
    code, out = cli("seeds", "validate", seed)
    assert code == 0, out
    flat = " ".join(out.split())
    files = [f for f in (seed.parent / "northwind").iterdir() if f.name != "README.md"]
    total = sum(f.stat().st_size for f in files)
    assert f"reads {len(files)} file(s), {total / 1e3:.1f} kB" in flat, flat
    for f in files:
        assert f"{f.stat().st_size / 1e3:.1f} kB" in flat and f"northwind/{f.name}" in flat
    assert flat.count(" chunks northwind/") == len(files)


def _odd(world: Path, kind: str) -> tuple[Path, str]:
    docs = world / "seed" / "docs"
    if kind == "a pipe":
        os.mkfifo(docs / "pipe.txt")  # reading it would wait forever
        return _seed(world / "seed", "  documents: [docs/pipe.txt]"), \
            "'docs/pipe.txt' is not a regular file"
    if kind == "a NUL byte":
        return _seed(world / "seed", '  documents: ["docs/a\\0b.md"]'), \
            "a path cannot hold a NUL character"
    if kind == "a symlink loop":
        (docs / "a.md").symlink_to(docs / "b.md")
        (docs / "b.md").symlink_to(docs / "a.md")
        return _seed(world / "seed", "  documents: [docs/a.md]"), "cannot be resolved"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["a pipe", "a NUL byte", "a symlink loop"])
def test_odd_paths_are_clear_errors(world: Path, kind: str) -> None:
    seed, said = _odd(world, kind)
    code, out = cli("seeds", "validate", seed)
    assert code == 2 and said in " ".join(out.split()), out
    assert "Traceback" not in out


def test_a_glob_passes_pipes_and_symlink_loops_by(world: Path) -> None:
    docs = world / "seed" / "docs"
    os.mkfifo(docs / "pipe.md")
    (docs / "a.md").symlink_to(docs / "b.md")
    (docs / "b.md").symlink_to(docs / "a.md")
    seed = load_seed(_seed(world / "seed", "  documents: ['docs/*.md']"))
    assert {u.file for u in units(seed, 0)} == {"docs/policy.md"}
