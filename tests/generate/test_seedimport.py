"""Self-Instruct seed_tasks.jsonl import: round trip, the CLI command, and `run` taking it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.errors import SeedError
from datagen.seeds import load_seed, load_seeds
from datagen.seeds.selfinstruct import import_tasks, seed_yaml, to_seed_tasks
from tests.conftest import REPO

TASKS = Path(__file__).parent / "data" / "seed_tasks.jsonl"


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_import_round_trips_through_yaml(tmp_path: Path) -> None:
    seed = import_tasks(TASKS)
    assert seed.id == "seed_tasks" and list(seed.strategies.enabled()) == ["bootstrap"]
    assert len(seed.examples) == 4  # one example per instance
    two = [ex for ex in seed.examples if ex.task_id == "seed_task_1"]
    assert [ex.input for ex in two] == [
        "The Recipient shall not disclose the Discloser's information.",
        "Each party may disclose and receive information under this agreement."]
    assert all(ex.is_classification for ex in two) and two[0].response == "One-way"
    assert seed.examples[-1].input is None  # an empty input is no input context
    out = tmp_path / "imported.yaml"
    out.write_text(seed_yaml(seed))
    again = load_seed(out)
    assert again == seed
    assert to_seed_tasks(again) == _lines(TASKS)


def test_cli_import_writes_a_valid_seed_and_run_accepts_the_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "seeds" / "tasks.yaml"
    done = subprocess.run([sys.executable, "-m", "datagen.cli", "seeds", "import", str(TASKS),
                           "--out", str(out), "--id", "nda-tasks", "--pairs", "12"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "3 tasks, 4 examples, 2 classification" in done.stdout + done.stderr
    seed = load_seed(out)
    assert (seed.id, seed.pairs) == ("nda-tasks", 12)
    direct = load_seeds([TASKS])  # what `datagen run seed_tasks.jsonl` loads
    assert [ex.instruction for ex in direct[0].examples] == [ex.instruction
                                                             for ex in seed.examples]


def test_a_broken_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(TASKS.read_text().splitlines()[0] + "\n{\"id\": 1}\n")
    with pytest.raises(SeedError, match=r"bad.jsonl:2: a task needs the fields"):
        import_tasks(bad)
