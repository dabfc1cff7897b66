"""Seed files: every shipped seed is valid; every malformed or oversized one fails with file,
field and fix; `seeds import` never writes over a folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.errors import SeedError
from datagen.seeds import load_seed, load_seeds
from tests.cli import cli
from tests.conftest import SEEDS

# the bounds on seed input (datagen/seeds/limits.py), as a user meets them
TEXT_CHARS, SHORT_CHARS, LIST_ITEMS, SEED_FILE_BYTES = 20_000, 2_000, 10_000, 5_000_000
GOOD = """\
id: tiny
domain: legal
description: A tiny seed.
system: You are a legal assistant.
task: Ask for an NDA clause.
language: en
pairs: 3
examples:
  - Draft a non-disclosure agreement clause regarding data privacy.
"""


def test_shipped_seeds_are_valid_and_cover_the_domains() -> None:
    seeds = load_seeds([SEEDS])
    domains = {s.domain for s in seeds}
    assert {"legal", "healthcare", "finance", "e-commerce", "education", "code"} <= domains
    nda = load_seed(SEEDS / "legal" / "nda_clauses.yaml")
    assert any("data privacy" in ex.instruction for ex in nda.examples)
    assert all(len(s.examples) >= 3 for s in seeds)


@pytest.mark.parametrize(
    ("text", "field", "fix"),
    [
        (GOOD.replace("pairs: 3", "pairs: [3"), "line", "YAML syntax"),
        (GOOD.replace("task: Ask for an NDA clause.\n", ""), "`task`", "add the field"),
        (GOOD + "temperature: 0.3\n", "`temperature`", "remove"),
        (GOOD.replace("pairs: 3", "pairs: many"), "`pairs`", "fix the value"),
        (GOOD.split("examples:")[0] + "examples: []\n", "`examples`", "at least one"),
        (GOOD.replace("language: en", "language: klingon"), "`language`", "ISO 639-1"),
        (GOOD.replace("id: tiny", "id: Tiny Seed!"), "`id`", "lowercase"),
        ("- just\n- a list\n", "mapping", "id:"),
    ],
)
def test_malformed_seed_names_file_field_and_fix(tmp_path: Path, text: str, field: str,
                                                 fix: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SeedError) as info:
        load_seed(path)
    message = str(info.value)
    assert str(path) in message
    assert field in message
    assert fix in message


def test_duplicate_seed_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(SeedError, match="already used"):
        load_seeds([tmp_path])


def test_cli_reports_bad_seed_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + "temprature: 1\n")
    proc = subprocess.run([sys.executable, "-m", "datagen.cli", "seeds", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == SeedError.exit_code
    assert "temprature" in proc.stderr and "bad.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def _long(field: str, chars: int) -> str:
    if field == "examples":
        return GOOD.split("examples:")[0] + "examples:\n" + "  - Draft an NDA clause.\n" * chars
    if field == "examples.0.instruction":
        return GOOD.replace("  - Draft", f"  - {'Draft ' * (chars // 6)}Draft")
    return GOOD.replace(f"{field}: ", f"{field}: {'long ' * (chars // 5)}")


@pytest.mark.parametrize(("field", "chars"), [
    ("system", TEXT_CHARS + 5), ("task", TEXT_CHARS + 5), ("description", SHORT_CHARS + 5),
    ("examples.0.instruction", TEXT_CHARS + 6), ("examples", LIST_ITEMS + 1)])
def test_seed_text_fields_are_bounded(tmp_path: Path, field: str, chars: int) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(_long(field, chars))
    code, out = cli("seeds", "validate", path)
    flat = " ".join(out.split())
    assert code == SeedError.exit_code, flat
    assert f"{path}: invalid seed" in flat and f"field `{field}`: " in flat, flat
    assert "at most" in flat and ("shorten" in flat or "fewer entries" in flat), flat


def test_a_seed_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(GOOD.replace("system: ", "system: " + "word " * (SEED_FILE_BYTES // 5)))
    code, out = cli("seeds", "validate", path)
    flat = " ".join(out.split())
    assert code == SeedError.exit_code and f"{path}: 5.0 MB, over the seed file limit" in flat
    tasks = tmp_path / "seed_tasks.jsonl"
    line = json.dumps({"id": "t", "instruction": "Do it " * 1000, "instances": []})
    tasks.write_text((line + "\n") * (SEED_FILE_BYTES // len(line) + 1))
    code, out = cli("seeds", "import", tasks)
    assert code == SeedError.exit_code and "over the seed file limit" in out, out
    assert not tasks.with_suffix(".yaml").exists()


def test_an_imported_task_too_short_or_too_long_names_its_field(tmp_path: Path) -> None:
    tasks = tmp_path / "seed_tasks.jsonl"
    for text in ("ab", "x" * (TEXT_CHARS + 1)):
        tasks.write_text(json.dumps({"id": "t", "instruction": text, "instances": []}) + "\n")
        code, out = cli("seeds", "import", tasks)
        flat = " ".join(out.split())
        assert code == SeedError.exit_code, flat
        assert f"{tasks}: task 1: field `instruction`" in flat and "Traceback" not in flat


@pytest.mark.parametrize("force", [False, True])
def test_seeds_import_onto_a_folder_is_one_clear_line(tmp_path: Path, force: bool) -> None:
    tasks = tmp_path / "seed_tasks.jsonl"
    tasks.write_text(json.dumps({"id": "t", "instruction": "Write a haiku.",
                                 "instances": [{"input": "", "output": "Snow."}]}) + "\n")
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "keep.yaml").write_text("kept")
    code, out = cli("seeds", "import", tasks, "--out", folder, *(["--force"] if force else []))
    assert code == 2, out
    assert f"{folder}: is a folder" in out and "--out" in out and "Traceback" not in out
    assert [p.name for p in folder.iterdir()] == ["keep.yaml"]
    assert (folder / "keep.yaml").read_text() == "kept"
