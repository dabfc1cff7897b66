"""`datagen finetune RUN --method dpo` against the fine-tuning stand-in: the preference files
uploaded, a job with `method: {type: dpo}`, followed to its model, rerun-safe; a malformed
preference file refused by the server as OpenAI does; no preference files, a clear error before
any call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import cli
from tests.finetune.jobs_server import JobScript, JobsServer
from tests.scripted_server import Reply

SECRET = "sk-" + "dpoKeyThatMustNotLeak" + "42"  # fake; built so scanners skip it


def finetune(run_dir: Path, server: JobsServer, *args: object) -> tuple[int, str]:
    return cli("finetune", run_dir, "--base-url", server.base_url, "--poll-s", "0", *args)


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_dpo_job_lifecycle_from_the_sft_model(pref_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with JobsServer() as server:
        code, out = finetune(pref_dir, server)  # SFT first
        assert code == 0, out
        sft_model = manifest(pref_dir)["finetune"]["openai"]["fine_tuned_model"]
        code, out = finetune(pref_dir, server, "--method", "dpo", "--beta", "0.2",
                             "--from-sft")
        assert code == 0, out
        assert SECRET not in out
        sft_create, dpo_create = server.job_creates
        assert "method" not in sft_create
        preflight = manifest(pref_dir)["validate"]["preference_train"]
        epochs = preflight["models"]["gpt-4o-mini-2024-07-18"]["epochs"]
        assert dpo_create["model"] == sft_model
        assert dpo_create["method"] == {"type": "dpo", "dpo": {"hyperparameters": {
            "beta": 0.2, "n_epochs": epochs}}}
        assert "hyperparameters" not in dpo_create  # inside the method, as OpenAI wants now
        for key, name in (("training_file", "preference_train.jsonl"),
                          ("validation_file", "preference_validation.jsonl")):
            assert server.files[dpo_create[key]] == (pref_dir / "openai" / name).read_bytes()
        done = manifest(pref_dir)["finetune"]
        assert done["openai"]["fine_tuned_model"] == sft_model  # the SFT record stays
        assert done["openai_dpo"]["status"] == "succeeded"
        assert done["openai_dpo"]["fine_tuned_model"].startswith(f"ft:{sft_model}")
        assert done["openai_dpo"]["method"]["type"] == "dpo"
        # a rerun follows the recorded job: nothing uploaded or created again
        files = len(server.files)
        code, out = finetune(pref_dir, server, "--method", "dpo", "--beta", "0.2",
                             "--from-sft")
        assert code == 0 and len(server.job_creates) == 2 and len(server.files) == files


def test_a_malformed_preference_file_is_refused_by_the_server(pref_dir: Path) -> None:
    path = pref_dir / "openai" / "preference_train.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[2]["non_preferred_output"].append({"role": "assistant", "content": "And more."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with JobsServer(JobScript(statuses=("validating_files", "running"))) as server:
        code, out = finetune(pref_dir, server, "--method", "dpo")
    assert code == 10, out
    assert "Example 3: non_preferred_output must contain exactly one assistant message" in out
    assert manifest(pref_dir)["finetune"]["openai_dpo"]["status"] == "failed"
    code, said = cli("validate", path)  # and datagen's own pre-flight says so before upload
    assert code == 5 and "output_not_one_assistant_message" in said


def test_dpo_without_preference_files_fails_before_any_call(pref_dir: Path) -> None:
    for split in ("train", "validation"):
        (pref_dir / "openai" / f"preference_{split}.jsonl").unlink()
    with JobsServer() as server:
        code, out = finetune(pref_dir, server, "--method", "dpo")
        assert code == 2, out
        assert "no preference pairs" in out and "--preference" in out
        assert server.requests == [] and server.job_creates == [] and not server.files
    code, out = cli("finetune", pref_dir, "--local", "--method", "dpo")
    assert code == 2 and "no preference pairs" in out
    assert not (pref_dir / "finetune" / "lora_dpo").exists()
    code, out = cli("finetune", pref_dir, "--method", "ppo")
    assert code == 2 and "unknown training method" in out
    code, out = cli("finetune", pref_dir, "--beta", "0.1")
    assert code == 2 and "add --method dpo" in out


def test_eval_shows_the_dpo_candidate(pref_dir: Path) -> None:
    def answers(body: dict, n: int) -> Reply:  # each model answers in its own words
        return Reply(f"An answer from {body['model']}.")

    with JobsServer(handler=answers) as server:
        assert finetune(pref_dir, server)[0] == 0
        assert finetune(pref_dir, server, "--method", "dpo", "--from-sft")[0] == 0
        dpo_model = manifest(pref_dir)["finetune"]["openai_dpo"]["fine_tuned_model"]
        code, out = cli("eval", pref_dir, "--base-url", server.base_url, "--max-tokens", "16")
        assert code == 0, out
        asked = {r["model"] for r in server.requests if "messages" in r}
    summary = manifest(pref_dir)["eval"]
    by_key = {c["candidate"]: c for c in summary["candidates"]}
    assert set(by_key) == {"a", "b", "c", "d"}
    assert by_key["d"]["model"] == dpo_model and dpo_model in asked
    assert by_key["d"]["approach"] == "preference tuning (OpenAI DPO)"
