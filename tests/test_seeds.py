"""Seed files: every shipped seed is valid; every malformed one fails with file, field, fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from datagen.errors import SeedError
from datagen.seeds import load_seed, load_seeds
from tests.conftest import SEEDS

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
