"""The manual builds, names every run-config key and drop reason, and its tutorial runs.

- `mkdocs build --strict` (a broken link or nav entry fails it), into a temp folder.
- The built reference holds every leaf run-config key by its dotted path and every drop reason.
- The blocks of `docs/getting-started.md` marked `<!-- test: run -->` run as written: each
  `datagen ...` line through the real CLI (in-process, exit code 0) against the scripted
  OpenAI-compatible server (`OPENAI_BASE_URL`, as the page tells a reader to set), in a folder
  that holds the repo's `seeds/`; a Python block runs there too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from datagen.config import RunConfig
from datagen.reasons import DropReason
from tests.cli import cli
from tests.conftest import REPO
from tests.flows.world import handler
from tests.scripted_server import ScriptedServer

TUTORIAL = REPO / "docs" / "getting-started.md"
RUNNABLE = re.compile(r"<!-- test: run -->\n```(\w+)\n(.*?)\n```", re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="mkdocs-material is not installed: "
                                           "pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-d", str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a config model by its dotted path (`models.<name>.base_url`)."""
    out = []
    for name, field in model.model_fields.items():
        path, ann = f"{prefix}{name}", field.annotation
        if typing.get_origin(ann) is dict and _model(typing.get_args(ann)[1]):
            out += leaf_keys(typing.get_args(ann)[1], f"{path}.<name>.")
        elif models := [a for a in (ann, *typing.get_args(ann)) if _model(a)]:
            out += leaf_keys(models[0], f"{path}.")
        else:
            out.append(path)
    return out


def test_the_site_builds_with_every_key_and_reason(site: Path) -> None:
    config = (site / "reference" / "config" / "index.html").read_text(encoding="utf-8")
    keys = leaf_keys(RunConfig)
    assert "curation.judge.threshold" in keys and "models.<name>.base_url" in keys
    missing = [k for k in keys if f"<code>{k.replace('<', '&lt;').replace('>', '&gt;')}</code>"
               not in config]
    assert not missing, missing
    reasons = (site / "reference" / "drop-reasons" / "index.html").read_text(encoding="utf-8")
    assert not [r for r in DropReason if f"<code>{r}</code>" not in reasons]
    commands = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("datagen run", "datagen curate", "datagen seeds validate", "--allow-short"):
        assert command in commands
    assert (site / "guides" / "nightly" / "index.html").is_file()


def runnable_blocks() -> list[tuple[str, str]]:
    blocks = RUNNABLE.findall(TUTORIAL.read_text(encoding="utf-8"))
    assert blocks, f"no `<!-- test: run -->` block in {TUTORIAL.name}"
    return blocks


def test_the_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "seeds").symlink_to(REPO / "seeds", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    with ScriptedServer(handler) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for language, body in runnable_blocks():
            if language == "python":
                exec(compile(body, f"{TUTORIAL.name} (python block)", "exec"), {})
                continue
            assert language == "bash", language
            for line in body.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                assert words[0] == "datagen", f"only datagen commands run here: {line}"
                code, out = cli(*words[1:])
                assert code == 0, f"{line}\n{out}"
    assert (tmp_path / "outputs" / "tour" / "openai" / "train.jsonl").is_file()
    assert len(server.requests) > 12  # the run asked the scripted endpoint


def test_runnable_blocks_call_only_datagen() -> None:
    """A reader can paste them: no test-only variable or helper appears in them."""
    for _, body in runnable_blocks():
        assert "scripted" not in body.lower() and "127.0.0.1" not in body
    assert shutil.which("bash")  # the blocks are bash as written
