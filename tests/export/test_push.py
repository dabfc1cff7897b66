"""`datagen push`: the Hub cannot be reached from the test machines, so `HfApi` is replaced by
a recording substitute at our boundary (the `api_factory` argument). Everything before the two
Hub calls (the folder check, the file list, the token lookup, the secret scan) runs for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import constants

from datagen.errors import ConfigError, ExportError
from datagen.export.hub import push_run

TOKEN = "hf_" + "testTokenThatMustNotLeak" + "0123456789"  # fake; built so scanners skip it


class RecordingHub:
    """Stands in for `huggingface_hub.HfApi`: records how it was built and called."""

    instances: list[RecordingHub] = []

    def __init__(self, **kwargs: Any) -> None:
        self.init = kwargs
        self.calls: list[tuple[str, dict[str, Any]]] = []
        RecordingHub.instances.append(self)

    def create_repo(self, **kwargs: Any) -> str:
        self.calls.append(("create_repo", kwargs))
        return f"https://huggingface.co/datasets/{kwargs['repo_id']}"

    def upload_folder(self, **kwargs: Any) -> Any:
        self.calls.append(("upload_folder", kwargs))
        return type("CommitInfo", (), {"oid": "0123abcd"})()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    hf = tmp_path / "run" / "hf"
    (hf / "data").mkdir(parents=True)
    (hf / "plots").mkdir()
    (hf / "README.md").write_text("---\nlicense: other\n---\n# card\n")
    (hf / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1" * 10)
    (hf / "plots" / "token_lengths.png").write_bytes(b"\x89PNG")
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"run_id": "r1"}))
    return tmp_path / "run"


@pytest.fixture
def no_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))


def test_push_arguments(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    RecordingHub.instances.clear()
    plan = push_run(run_dir / "hf", run_dir / "manifest.json",
                    "my-org/nda-clauses", api_factory=RecordingHub)
    (hub,) = RecordingHub.instances
    assert hub.init == {"token": TOKEN}
    (create, c_args), (upload, u_args) = hub.calls
    assert create == "create_repo" and upload == "upload_folder"
    assert c_args == {"repo_id": "my-org/nda-clauses", "repo_type": "dataset", "private": True,
                      "exist_ok": True}
    assert u_args["repo_type"] == "dataset" and u_args["repo_id"] == "my-org/nda-clauses"
    assert Path(u_args["folder_path"]) == run_dir / "hf"
    assert [f for f, _ in plan.files] == ["README.md", "data/train-00000-of-00001.parquet",
                                          "plots/token_lengths.png"]
    manifest = (run_dir / "manifest.json").read_text()
    assert TOKEN not in manifest
    push = json.loads(manifest)["pushes"][0]
    assert push["repo_id"] == "my-org/nda-clauses" and push["private"]
    assert push["commit"] == "0123abcd"


def test_public_only_when_asked(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    RecordingHub.instances.clear()
    push_run(run_dir / "hf", run_dir / "manifest.json",
             "my-org/x", private=False, api_factory=RecordingHub)
    assert RecordingHub.instances[0].calls[0][1]["private"] is False


def test_dry_run_lists_files_and_calls_nothing(run_dir: Path, no_login: None) -> None:
    RecordingHub.instances.clear()
    plan = push_run(run_dir / "hf", run_dir / "manifest.json",
                    "my-org/x", dry_run=True, api_factory=RecordingHub)
    assert RecordingHub.instances == [] and len(plan.files) == 3 and plan.total_bytes == 30 + 40 + 4


def test_no_token_says_what_to_do(run_dir: Path, no_login: None) -> None:
    with pytest.raises(ExportError, match="no Hugging Face token") as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x", api_factory=RecordingHub)
    assert "hf auth login" in (exc.value.hint or "") and "HF_TOKEN" in exc.value.hint


def test_refuses_a_folder_that_holds_the_token(run_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    (run_dir / "hf" / "README.md").write_text(f"oops {TOKEN}")
    RecordingHub.instances.clear()
    with pytest.raises(ExportError) as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x", api_factory=RecordingHub)
    assert TOKEN not in str(exc.value) and RecordingHub.instances == []


def test_bad_repo_id_and_missing_export(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ORG/NAME"):
        push_run(run_dir / "hf", run_dir / "manifest.json", "just-a-name", dry_run=True)
    with pytest.raises(ExportError, match="not an exported dataset"):
        push_run(tmp_path / "empty" / "hf", tmp_path / "empty" / "manifest.json", "my-org/x",
                 dry_run=True)


def test_hub_errors_name_the_repo_and_hide_the_token(run_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing(RecordingHub):
        def create_repo(self, **kwargs: Any) -> str:
            raise PermissionError(f"403 Forbidden for token {TOKEN}")

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(ExportError, match="push to my-org/x failed") as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x", api_factory=Refusing)
    assert TOKEN not in str(exc.value) and "403" in str(exc.value)
