"""The semantic check's switch, without its model: off by default, a round's semantic
duplicates count towards saturation, and with the extra broken the config is refused in one
line before anything runs. Runs where the `semantic` extra is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datagen.generate.work import round_stats
from tests.conftest import NDA_SEED
from tests.curate.helpers import reasons, records, run

ANSWER = ("Here is a clear answer with the steps, the reasons behind them and one worked "
          "example, so that the request is fully handled.")
ROOT = Path(__file__).resolve().parents[3]


def test_off_by_default_and_surface_dedup_alone_misses_paraphrases() -> None:
    rows = [{"instruction": t, "response": ANSWER} for t in (
        "Give me three tips for sleeping better.",
        "List three pieces of advice for improving sleep.",
        "Translate 'good morning' into French.",
        "How would you say 'good morning' in French?")]
    assert reasons(run(records(*rows))) == [None] * len(rows)


def test_a_rounds_semantic_duplicates_count_towards_its_saturation() -> None:
    metas = [{"stage": "expand", "round": 1}] * 4
    part = records(*[{"instruction": f"Request number {i}", "response": ANSWER}
                     for i in range(4)])
    part.loc[:2, "keep"] = False
    part.loc[:2, "drop_reason"] = "semantic_duplicate"
    (stats,) = round_stats(part, metas)
    assert stats["duplicates"] == 3 and stats["duplicate_share"] == 0.75


def test_a_broken_extra_is_refused_in_one_line_before_the_run(tmp_path: Path) -> None:
    # a faiss that is installed but cannot load (a wheel for another CPU, a missing library)
    broken = tmp_path / "site" / "faiss"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("libfaiss.so: cannot open shared object file")\n')
    config = tmp_path / "semantic.yaml"
    config.write_text("curation:\n  semantic:\n    enabled: true\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken.parent), str(ROOT)]),
           "COLUMNS": "300"}
    out_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--config", str(config),
         "--out", str(out_dir)], env=env, capture_output=True, text=True, timeout=300)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said
    line = next(x for x in said.splitlines() if "curation.semantic.enabled" in x)
    assert "faiss-cpu" in line and "pip install 'datagen[semantic]'" in line, said
    assert str(config) in said
    assert not out_dir.exists()
