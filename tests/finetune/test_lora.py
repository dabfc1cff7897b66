"""`datagen finetune RUN_DIR --local`: a real LoRA adapter on the embedded model (loaded from
the shipped GGUF), a few CPU steps with TRL's SFTTrainer on the run's `hf/` dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.errors import ConfigError
from tests.cli import cli

pytest.importorskip("peft", reason="the `train` extra is not installed")


def test_the_adapter_beats_the_base_on_validation(adapter_run: Path) -> None:
    adapter = adapter_run / "finetune" / "lora"
    log = json.loads((adapter / "training_log.json").read_text())
    assert log["eval_loss"] < log["eval_loss_base"]
    assert [e["step"] for e in log["loss_per_step"]] == [1, 2, 3]
    counts = json.loads((adapter_run / "manifest.json").read_text())["counts"]
    assert log["examples"] == {"train": counts["train"], "validation": counts["validation"]}
    assert log["seconds"] > 0 and log["peak_rss_mb"] > 0
    assert (adapter / "adapter_model.safetensors").is_file()
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8
    assert not (adapter / "trainer").exists()  # the trainer's scratch is not kept
    recorded = json.loads((adapter_run / "manifest.json").read_text())["finetune"]["lora"]
    assert recorded["eval_loss"] == log["eval_loss"]
    assert recorded["base"]["kind"] == "embedded"


def test_an_adapter_of_another_base_is_refused(adapter_run: Path, tmp_path: Path) -> None:
    from datagen.finetune.lora import check_adapter

    adapter = adapter_run / "finetune" / "lora"
    assert check_adapter(adapter, None)["base"]["kind"] == "embedded"
    other = tmp_path / "other-base"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    with pytest.raises(ConfigError, match="trained on another base model"):
        check_adapter(adapter, str(other))
    with pytest.raises(ConfigError, match="not a datagen LoRA adapter"):
        check_adapter(tmp_path, None)


def test_local_without_the_train_extra(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datagen.finetune import lora

    # a package that is really absent stands for an extra that was not installed
    monkeypatch.setattr(lora, "TRAIN_PACKAGES", (*lora.TRAIN_PACKAGES, "datagen_no_such_pkg"))
    code, out = cli("finetune", run_dir, "--local")
    assert code == 2 and "needs the `train` extra" in out and "torch==2.13.0" in out
    assert not (run_dir / "finetune").exists()
