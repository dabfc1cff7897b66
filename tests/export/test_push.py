"""`datagen push` against a loopback stand-in of the Hub's HTTP API (tests/hub_server.py): the
real `huggingface_hub` client creates the repo, lists its files, validates the card, asks how
to upload and commits; the stand-in keeps the repo's files, so each test asserts what the Hub
holds afterwards. Everything before the Hub (the folder check, the repo id, the file list, the
token lookup, the secret scan) runs for real too."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from huggingface_hub import constants

from datagen.config import RunConfig
from datagen.errors import ConfigError, ExportError
from datagen.export.append import Published, assign_splits, publish
from datagen.export.hub import push_run
from tests.cli import cli
from tests.export.conftest import small_records
from tests.hub_server import AGENTS, HubServer, serving

TOKEN = "hf_" + "testTokenThatMustNotLeak" + "0123456789"  # fake; built so scanners skip it
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with serving(monkeypatch) as server:
        yield server


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder as `datagen push` sees it: the marker, a manifest, `hf/`."""
    root = tmp_path / "run"
    hf = root / "hf"
    (hf / "data").mkdir(parents=True)
    (hf / "plots").mkdir()
    (hf / "README.md").write_text("---\nlicense: other\n---\n# card\n")
    (hf / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1" * 10)
    (hf / "plots" / "token_lengths.png").write_bytes(b"\x89PNG")
    (hf / ".generation").write_text("00001\n")
    (root / "manifest.json").write_text(json.dumps({"run_id": "r1",
                                                    "generation_id": "00001"}))
    (root / "config.json").write_text(json.dumps({"schema": "datagen-run/1", "config": {}}))
    return root


@pytest.fixture
def no_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))


def held(hub: HubServer, repo_id: str) -> dict[str, bytes]:
    """What the Hub holds in the repo, besides the `.gitattributes` it made."""
    return {p: b for p, b in hub.repo(repo_id).files.items() if p != ".gitattributes"}


def test_push_creates_a_private_dataset_repo_and_uploads_the_folder(
        run_dir: Path, hub: HubServer, token: str) -> None:
    plan = push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/nda-clauses")
    assert hub.creates == [{"name": "nda-clauses", "organization": "my-org", "type": "dataset",
                            "visibility": "private"}]
    files = ["README.md", "data/train-00000-of-00001.parquet", "plots/token_lengths.png"]
    assert [f for f, _ in plan.files] == files
    assert held(hub, "my-org/nda-clauses") == {f: (run_dir / "hf" / f).read_bytes()
                                               for f in files}  # no `.generation`
    assert "license: other" in hub.cards[-1]
    assert {auth for (_, path), auth in zip(hub.calls, hub.authorizations, strict=True)
            if path != AGENTS} == {f"Bearer {TOKEN}"}
    manifest = (run_dir / "manifest.json").read_text()
    assert TOKEN not in manifest
    push = json.loads(manifest)["pushes"][0]
    assert push["repo_id"] == "my-org/nda-clauses" and push["private"]
    assert push["commit"] == hub.repo("my-org/nda-clauses").sha
    assert push["url"] == f"{hub.endpoint}/datasets/my-org/nda-clauses"


def test_public_only_when_asked(run_dir: Path, hub: HubServer, token: str) -> None:
    push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x", private=False)
    assert hub.creates[0]["visibility"] == "public"


def test_the_hub_copy_mirrors_the_folder(run_dir: Path, hub: HubServer, token: str) -> None:
    """Files datagen wrote that the folder no longer has go, in the same commit; a file the
    repo's owner added elsewhere stays."""
    hf = run_dir / "hf"
    push_run(hf, run_dir / "manifest.json", "my-org/x")
    hub.repo("my-org/x").files["notes/howto.md"] = b"the owner's own file"
    (hf / "plots" / "token_lengths.png").unlink()
    (hf / "data" / "train-00000-of-00001.parquet").rename(
        hf / "data" / "train-00000-of-00002.parquet")
    (hf / "data" / "train-00001-of-00002.parquet").write_bytes(b"PAR1" * 3)
    push_run(hf, run_dir / "manifest.json", "my-org/x")
    assert sorted(held(hub, "my-org/x")) == [
        "README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet",
        "notes/howto.md"]
    last = hub.repo("my-org/x").commits[-1]
    assert sorted(last["deleted"]) == ["data/train-00000-of-00001.parquet",
                                       "plots/token_lengths.png"]
    assert ".gitattributes" in hub.repo("my-org/x").files


def test_dry_run_lists_files_and_calls_nothing(run_dir: Path, hub: HubServer,
                                               no_login: None) -> None:
    plan = push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x", dry_run=True)
    assert hub.calls == [] and len(plan.files) == 3 and plan.total_bytes == 30 + 40 + 4


def test_no_token_says_what_to_do(run_dir: Path, hub: HubServer, no_login: None) -> None:
    with pytest.raises(ExportError, match="no Hugging Face token") as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x")
    assert "hf auth login" in (exc.value.hint or "") and "HF_TOKEN" in exc.value.hint
    assert hub.calls == []


def test_refuses_a_folder_that_holds_the_token(run_dir: Path, hub: HubServer,
                                               token: str) -> None:
    (run_dir / "hf" / "README.md").write_text(f"oops {TOKEN}")
    with pytest.raises(ExportError) as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x")
    assert TOKEN not in str(exc.value) and hub.calls == []


@pytest.mark.parametrize(("repo_id", "rule"), [
    ("ORG/ñame", "alphanumeric"),
    ("org/" + "n" * 200, "maximum length is 96"),
    ("org/..git", "cannot start or end with '-' or '.'"),
    ("org/a..git", "Cannot have -- or .."),
    ("org/name.git", "cannot end by '.git'"),
    ("org/-name", "cannot start or end with '-' or '.'"),
    ("org/na--me", "Cannot have -- or .."),
    ("just-a-name", "ORG/NAME"),
    ("a/b/c", "ORG/NAME"),
])
def test_repo_ids_the_hub_rejects_fail_before_any_call(
        run_dir: Path, hub: HubServer, token: str, repo_id: str, rule: str) -> None:
    for dry_run in (True, False):
        with pytest.raises(ConfigError) as exc:
            push_run(run_dir / "hf", run_dir / "manifest.json", repo_id, dry_run=dry_run)
        assert rule in exc.value.message and repo_id[:40] in exc.value.message
    assert hub.calls == []
    code, out = cli("push", run_dir, "--repo-id", repo_id, "--dry-run")
    assert code == 2 and "Traceback" not in out and rule in out, out
    assert out.count("\n") == 2, out  # the error and its fix, nothing else


def test_missing_export(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not an exported dataset"):
        push_run(tmp_path / "empty" / "hf", tmp_path / "empty" / "manifest.json", "my-org/x",
                 dry_run=True)


def test_hub_errors_name_the_repo_and_hide_the_token(run_dir: Path, hub: HubServer,
                                                     token: str) -> None:
    hub.fail["create"] = (403, "Forbidden: {authorization} cannot write to my-org")
    with pytest.raises(ExportError, match="push to my-org/x failed") as exc:
        push_run(run_dir / "hf", run_dir / "manifest.json", "my-org/x")
    assert TOKEN not in str(exc.value) and "403" in str(exc.value)
    assert "Forbidden: Bearer ***" in str(exc.value)  # the echo came back, redacted


def _night(dataset: Path, out: Path, seed_id: str) -> str:
    """Publish 12 new pairs into `dataset` as a run into `out` would; the run id."""
    out.mkdir(parents=True)
    config = RunConfig(append_to=str(dataset), out=str(out))
    (out / "config.json").write_text(json.dumps({"schema": "datagen-run/1",
                                                 "config": config.model_dump(mode="json")}))
    records = small_records(12, seed_id=seed_id).assign(run_id=f"run-{seed_id}")
    labels = assign_splits(records, Published(dataset).records(), validation=0.25)
    publish(config, f"run-{seed_id}", records, labels)
    return f"run-{seed_id}"


def _rows(files: dict[str, bytes]) -> pd.DataFrame:
    return pd.concat([pq.read_table(io.BytesIO(b)).to_pandas() for p, b in sorted(files.items())
                      if p.startswith("data/")], ignore_index=True)


def test_a_dataset_pushed_night_after_night_grows_on_the_hub(tmp_path: Path, hub: HubServer,
                                                             token: str) -> None:
    """`datagen push` of a dataset folder (or of a run that appended to it) uploads every pair
    published so far, its card and its lineage: after two nights of 12 pairs, 24 rows."""
    dataset = tmp_path / "dataset"
    first = _night(dataset, tmp_path / "night1", "nda")
    code, out = cli("push", dataset, "--repo-id", "acme/nda")
    assert code == 0, out
    assert len(_rows(held(hub, "acme/nda"))) == 12
    second = _night(dataset, tmp_path / "night2", "lease")
    code, out = cli("push", tmp_path / "night2", "--repo-id", "acme/nda")  # the run: its dataset
    assert code == 0 and "pushing the whole dataset" in out, out
    files = held(hub, "acme/nda")
    rows = _rows(files)
    assert len(rows) == 24 == Published(dataset).manifest()["counts"]["total"]
    assert sorted(rows["id"]) == sorted(Published(dataset).records()["id"])
    card = files["README.md"].decode()
    assert first in card and second in card  # the lineage
    assert ".generation" not in files and "manifest.json" not in files
    pushes = Published(dataset).manifest()["pushes"]
    assert [p["repo_id"] for p in pushes] == ["acme/nda", "acme/nda"]
    assert TOKEN not in (dataset / "manifest.json").read_text() and TOKEN not in out


def test_a_half_published_dataset_is_not_pushed(tmp_path: Path, hub: HubServer,
                                                token: str) -> None:
    dataset = tmp_path / "dataset"
    _night(dataset, tmp_path / "night1", "nda")
    (dataset / "hf" / ".generation").write_text("run-killed-before-its-manifest\n")
    code, out = cli("push", dataset, "--repo-id", "acme/nda")
    assert code == 5 and "not whole" in out and "Traceback" not in out, out
    assert hub.calls == []


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_mtime_ns, p.lstat().st_size)
            for p in [root, *root.rglob("*")]}


def test_dry_run_writes_nothing(run_dir: Path, no_login: None) -> None:
    before = _snapshot(run_dir)
    code, out = cli("push", run_dir, "--repo-id", "acme/nda", "--dry-run")
    assert code == 0 and "would upload" in out, out
    assert _snapshot(run_dir) == before  # no lock file either: a dry run only reads


def test_push_on_a_read_only_folder(run_dir: Path) -> None:
    """A folder the user cannot write: `--dry-run` lists it, a push says so in one line. Run
    as a process that really lacks write access: root writes anywhere, so as root without the
    capabilities that override file permissions (`setpriv`, from util-linux)."""
    for p in [run_dir, *run_dir.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root, a read-only folder needs setpriv to drop CAP_DAC_OVERRIDE")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "HOME": str(run_dir.parent), "HF_TOKEN": TOKEN, "COLUMNS": "250"}

    script = ("import json, sys; from tests.cli import cli; "
              "push = ['push', sys.argv[1], '--repo-id', 'acme/x']; "
              "print(json.dumps([cli(*push, '--dry-run'), cli(*push)]))")
    try:  # one process, two commands: `datagen` takes a few seconds to import
        done = subprocess.run([*prefix, sys.executable, "-c", script, str(run_dir)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        (code, said), (code2, said2) = json.loads(done.stdout)
        assert code == 0 and "would upload" in said and "Traceback" not in said, said
        assert code2 == 2 and "Traceback" not in said2, said2
        assert "not writable" in said2 and said2.count("\n") == 2, said2
        assert TOKEN not in said + said2 + done.stderr
    finally:
        for p in [run_dir, *run_dir.rglob("*")]:
            p.chmod(0o755)
