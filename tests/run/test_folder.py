"""The run folder is a unit: recognised before any work, locked, and swapped in one generation
at a time; a user's files are never touched."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen.errors import ConfigError, ExportError, FolderBusy
from datagen.export.hub import plan_push
from datagen.files import locked
from datagen.run import run
from datagen.run.folder import RunFolder, Staging, check_out
from tests.cli import cli
from tests.conftest import NDA_SEED


def test_out_must_be_new_empty_or_a_run_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "hf" / "m").mkdir(parents=True)
    weights = mine / "hf" / "m" / "model.safetensors"
    weights.write_bytes(b"weights")
    (mine / "report.md").write_text("my notes")
    code, out = cli("run", NDA_SEED, "--out", mine, "--base-url", "http://127.0.0.1:9/v1")
    assert code == 2 and "not empty and is not a datagen run folder" in out
    assert weights.read_bytes() == b"weights" and (mine / "report.md").read_text() == "my notes"
    assert "Traceback" not in out
    for where, said in (("/", "refusing to use /"), (Path.home(), "the home folder")):
        code, out = cli("run", NDA_SEED, "--out", where)
        assert code == 2 and said in out
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, out = cli("run", NDA_SEED, "--out", afile)
    assert code == 2 and "is a file" in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with pytest.raises(ConfigError, match="not writable"):
        check_out(ro / "run")


def test_dot_dot_in_out_leaves_no_stray_folder(tmp_path: Path) -> None:
    assert check_out(tmp_path / "a" / "nonexist" / ".." / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()  # nothing is made before the run starts


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom datagen.files import locked\n"
        f"with locked({str(tmp_path)!r}, 'run'):\n    print('held', flush=True)\n"
        "    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy, match=rf"pid {holder.pid}"):
            with locked(tmp_path, "curate"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with locked(tmp_path, "curate"):  # a dead holder leaves no lock behind
        pass


def test_every_part_of_an_export_carries_one_generation(make_config, tmp_path: Path) -> None:
    config = make_config(out=str(tmp_path / "run"))
    folder = RunFolder(config.out)
    asyncio.run(run(config))
    # a staging folder left by a killed export is removed by the next one
    (folder.generations / ".staging-00009").mkdir()
    asyncio.run(run(config))
    manifest = json.loads(folder.manifest.read_text())
    gen = manifest["generation_id"]
    assert gen == "00002" and folder.generation() == gen
    for part in (folder.hf, folder.openai):
        assert (part / ".generation").read_text().strip() == gen
    assert not (folder.generations / ".staging-00009").exists()
    assert sorted(p.name for p in folder.generations.iterdir()) == ["00001", "00002"]
    # a half-swapped or edited export is refused by push
    (folder.hf / ".generation").write_text("00001\n")
    with pytest.raises(ExportError, match="not whole"):
        plan_push(folder.hf, folder.manifest, "org/name")


def test_a_failed_export_leaves_the_current_generation(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path).ensure()
    with Staging(folder) as stage:
        stage.path("manifest.json").write_text('{"generation_id": "00001"}')
    before = folder.manifest.read_text()
    with pytest.raises(RuntimeError), Staging(folder) as stage:
        stage.path("manifest.json").write_text("half")
        raise RuntimeError("killed mid-export")
    assert folder.manifest.read_text() == before
    assert not list(folder.generations.glob(".staging-*"))


def test_sigkill_leaves_no_server_behind(world, tmp_path: Path) -> None:
    """`datagen run` starts Prefect's temporary server; killed with SIGKILL, its watchdog
    stops every process the run started."""
    psutil = pytest.importorskip("psutil")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "50",
         "--out", str(tmp_path / "run"), "--base-url", world.base_url, "--model", "test-model"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    deadline = time.monotonic() + 90
    children: list = []
    while time.monotonic() < deadline and not any(
            "uvicorn" in " ".join(c.cmdline()) or "prefect" in " ".join(c.cmdline())
            for c in children if c.is_running()):
        time.sleep(0.5)
        try:
            children = me.children(recursive=True)
        except psutil.NoSuchProcess:
            break
    assert children, "the run never started its servers"
    proc.kill()
    proc.wait()
    gone, alive = psutil.wait_procs(children, timeout=20)
    left = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [" ".join(p.cmdline())[:200] for p in left]
