"""`datagen finetune RUN_DIR` against a scripted server speaking the files and fine-tuning
jobs wire format: the real openai SDK, the real CLI, a real run folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import cli
from tests.conftest import REPO
from tests.finetune.jobs_server import JobScript, JobsServer
from tests.processes import interruptible

SECRET = "sk-" + "finetuneKeyThatMustNotLeak" + "42"  # fake; built so scanners skip it


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "finetune" / "openai.json").read_text())


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def finetune(run_dir: Path, server: JobsServer, *args: object) -> tuple[int, str]:
    return cli("finetune", run_dir, "--base-url", server.base_url, "--poll-s", "0", *args)


def spawn(run_dir: Path, server: JobsServer, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "datagen.cli", "finetune", str(run_dir), "--base-url",
         server.base_url, "--poll-s", "0.05", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=interruptible)


def wait_for(condition, timeout_s: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_whole_lifecycle(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with JobsServer() as server:
        code, out = finetune(run_dir, server, "--suffix", "nda", "--seed", "7")
        assert code == 0, out
        assert sorted(server.purposes.values()) == ["fine-tune", "fine-tune"]
        (create,) = server.job_creates
        preflight = manifest(run_dir)["validate"]["train"]["models"]["gpt-4o-mini-2024-07-18"]
        assert create["model"] == "gpt-4o-mini-2024-07-18"
        assert create["hyperparameters"] == {"n_epochs": preflight["epochs"]}
        assert create["suffix"] == "nda" and create["seed"] == 7
        train, val = (server.files[create[k]] for k in ("training_file", "validation_file"))
        assert train == (run_dir / "openai" / "train.jsonl").read_bytes()
        assert val == (run_dir / "openai" / "validation.jsonl").read_bytes()
        result = manifest(run_dir)["finetune"]["openai"]
        assert result["status"] == "succeeded" and result["job_id"] == "ftjob-0"
        assert result["fine_tuned_model"] == "ft:gpt-4o-mini-2024-07-18:org-test:nda:0"
        assert result["trained_tokens"] == 12_345
        assert result["cost_usd"] == round(12_345 * 3.0 / 1e6, 4)
        assert result["estimate_usd"] == preflight["cost_usd"]
        assert "Created fine-tuning job: ftjob-0" in out and "succeeded" in out
        assert record(run_dir)["result"] == result
        # a rerun reports the same model and creates nothing
        code, again = finetune(run_dir, server)
        assert code == 0 and len(server.job_creates) == 1 and len(server.files) == 2
        assert "ft:gpt-4o-mini-2024-07-18:org-test:nda:0" in again
    for text in (out, again, (run_dir / "finetune" / "openai.json").read_text(),
                 (run_dir / "manifest.json").read_text()):
        assert SECRET not in text and SECRET[:8] not in text


def test_a_crash_between_create_and_confirm_makes_no_second_job(run_dir: Path) -> None:
    with JobsServer(JobScript(create_hold_s=60)) as server:
        proc = spawn(run_dir, server)
        try:
            wait_for(lambda: server.created.is_set() or proc.poll() is not None)
            assert server.created.is_set(), proc.communicate(timeout=5)[0].decode()
        finally:
            proc.kill()  # the process dies before it hears that the job exists
            proc.wait(timeout=30)
        state = record(run_dir)
        assert state["status"] == "creating" and "job_id" not in state
        server.script.create_hold_s = 0
        code, out = finetune(run_dir, server)
        assert code == 0, out
        assert len(server.job_creates) == 1 and "found job ftjob-0" in out
        assert manifest(run_dir)["finetune"]["openai"]["job_id"] == "ftjob-0"


def test_a_lost_create_answer_is_looked_up_not_resent(run_dir: Path) -> None:
    with JobsServer(JobScript(create_drop=True)) as server:
        code, out = finetune(run_dir, server)
        assert code == 0, out
        assert len(server.job_creates) == 1 and record(run_dir)["job_id"] == "ftjob-0"


def test_following_resumes_after_ctrl_c(run_dir: Path) -> None:
    with JobsServer(JobScript(statuses=("running",))) as server:
        proc = spawn(run_dir, server)
        wait_for(lambda: server.retrieves >= 3 or proc.poll() is not None)
        proc.send_signal(signal.SIGINT)
        first = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 130, first
        assert "rerun the same command" in first and "Traceback" not in first
        assert record(run_dir)["job_id"] == "ftjob-0"
        server.script.statuses = ("running", "succeeded")
        code, out = finetune(run_dir, server)
        assert code == 0, out
        assert len(server.job_creates) == 1
        assert "Created fine-tuning job" not in out  # events already shown are not repeated
        assert manifest(run_dir)["finetune"]["openai"]["status"] == "succeeded"


@pytest.mark.parametrize("end", ["failed", "expired"])
def test_a_job_that_fails_or_expires(run_dir: Path, end: str) -> None:
    error = {"code": "invalid_training_file", "message": "line 3: missing assistant message",
             "param": "training_file"} if end == "failed" else None
    with JobsServer(JobScript(statuses=("running", end), error=error)) as server:
        code, out = finetune(run_dir, server)
        assert code == 10 and f"ftjob-0 {end}" in out and "--restart" in out
        if error:
            assert "line 3: missing assistant message" in out
        assert manifest(run_dir)["finetune"]["openai"]["status"] == end
        code, out = finetune(run_dir, server)  # the same outcome again, nothing created
        assert code == 10 and len(server.job_creates) == 1
        server.script.statuses = ("succeeded",)
        code, out = finetune(run_dir, server, "--restart")
        assert code == 0, out
        assert len(server.job_creates) == 2 and len(server.files) == 2  # files reused
        assert record(run_dir)["previous"][0]["status"] == end


def test_cancel(run_dir: Path) -> None:
    with JobsServer(JobScript(statuses=("running",))) as server:
        code, out = finetune(run_dir, server, "--no-wait")
        assert code == 0 and "rerun" in out
        code, out = finetune(run_dir, server, "--cancel")
        assert code == 0 and "cancelled" in out
        code, out = finetune(run_dir, server)
        assert code == 10 and "ftjob-0 cancelled" in out


@pytest.mark.parametrize(("script", "exit_code", "said"), [
    (JobScript(create_status=403, create_error={"message": "You do not have access",
                                                "code": "permission_denied"}),
     3, "no fine-tuning access"),
    (JobScript(create_status=429, create_error={"message": "You exceeded your current quota",
                                                "code": "insufficient_quota"}),
     3, "out of quota"),
    (JobScript(upload_status=400), 5, "Invalid file format"),
])
def test_api_errors_say_what_to_do(run_dir: Path, script: JobScript, exit_code: int,
                                   said: str) -> None:
    with JobsServer(script) as server:
        code, out = finetune(run_dir, server)
    assert code == exit_code and said in out and "fix:" in out and "Traceback" not in out


def test_the_budget_is_checked_before_uploading(run_dir: Path) -> None:
    with JobsServer() as server:
        code, out = finetune(run_dir, server, "--max-cost-usd", "0.001")
        assert code == 4 and "llm.max_cost_usd" in out and "nothing was uploaded" in out
        assert server.files == {} and server.job_creates == []


def test_a_run_without_validation_split(run_dir: Path) -> None:
    (run_dir / "openai" / "validation.jsonl").write_text("")
    with JobsServer() as server:
        code, out = finetune(run_dir, server)
        assert code == 2 and "no validation split" in out and "split.validation" in out
        assert server.files == {}
