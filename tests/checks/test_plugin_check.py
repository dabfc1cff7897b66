"""A third-party check, installed the way a package installs one: a `*.dist-info` folder
with an `entry_points.txt` in the `datagen.checks` group, on the path of a fresh Python
process, so that `importlib.metadata` finds it for real. The check runs after the built-ins,
drops a record with its own reason, takes its settings from `curation.<name>` (unknown keys
still fail), and the reference page lists it with its reason and stage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

CHECK_MODULE = '''
"""Shouting: an answer written in capitals."""
import pandas as pd
from pydantic import Field

from datagen.checks import Check, Context, Verdicts
from datagen.settings import Section


class ShoutingConfig(Section):
    min_letters: int = Field(default=8, ge=1, description="Shorter answers may shout.")


def _shouting(ctx: Context) -> Verdicts:
    text = ctx.texts.response
    letters = text.str.count(r"[A-Za-z]")
    loud = (letters >= ctx.cfg.shouting.min_letters) & (text.str.upper() == text)
    return Verdicts.where(pd.Series(loud, index=ctx.frame.index), "shouting")


CHECK = Check(name="shouting", reasons=("shouting",), stage="style", inputs=("response",),
              section="shouting", config=ShoutingConfig, level="pair", run=_shouting)
'''

SCRIPT = '''
import importlib.util, sys
import pandas as pd
from pydantic import ValidationError
from datagen.checks.registry import CHECK_NAMES, stage_of
from datagen.config import CurationConfig
from datagen.curate import References, curate
from datagen.records import new_records

assert CHECK_NAMES[-1] == "shouting", CHECK_NAMES  # after every built-in
good = "A mutual NDA binds both parties to keep the other's information secret."
asks = ["Explain what a mutual NDA binds the parties to, in plain words.",
        "Summarise the duty of confidence for a small software startup."]
rows = [{"id": f"r{i}", "seed_id": "nda", "language": "en", "keep": True,
         "instruction": ask, "response": r}
        for i, (ask, r) in enumerate(zip(asks, [good, good.upper()]))]
out = curate(new_records(rows), CurationConfig.model_validate({"shouting": {"min_letters": 5}}),
             refs=References())
print("verdicts", list(out["drop_reason"].fillna("kept")))
print("stage", stage_of("shouting"))
try:
    CurationConfig.model_validate({"shouting": {"min_leters": 5}})
except ValidationError as exc:
    print("forbid", "min_leters" in str(exc))
spec = importlib.util.spec_from_file_location("reference", sys.argv[1])
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
page = hook.drop_reasons_page()
print("reason", [line for line in page.splitlines() if line.startswith("| `shouting` |")])
print("row", [line for line in page.splitlines() if "`shouting_check`" in line])
'''


def _install(site: Path) -> None:
    (site / "shouting_check").mkdir()
    (site / "shouting_check" / "__init__.py").write_text(CHECK_MODULE, encoding="utf-8")
    info = site / "shouting_check-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shouting-check\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[datagen.checks]\nshouting = shouting_check:CHECK\n", encoding="utf-8")


def test_an_installed_check_is_found_runs_and_is_documented(tmp_path: Path) -> None:
    _install(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT),
                           str(REPO / "docs" / "hooks" / "reference.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["verdicts"] == "['kept', 'shouting']"
    assert lines["stage"] == "style"
    assert lines["forbid"] == "True"
    assert lines["reason"] == "['| `shouting` | style | `shouting` |']"  # reason, stage, check
    assert "| 30 | `shouting` |" in lines["row"] and "`curation.shouting`" in lines["row"]


def test_without_the_package_the_check_is_absent() -> None:
    from datagen.checks.registry import CHECK_NAMES, stage_of

    assert "shouting" not in CHECK_NAMES and stage_of("shouting") == "other"
