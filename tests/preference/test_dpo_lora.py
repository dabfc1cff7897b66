"""`datagen finetune RUN --local --method dpo`: a real DPO LoRA adapter on the embedded model
(loaded from the shipped GGUF), a few CPU steps of TRL's DPOTrainer on the run's `preference`
config; the loss is finite and the adapter loads onto its base. Nothing asserts what the
model writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("peft", reason="the `train` extra is not installed")
pytest.importorskip("trl", reason="the `train` extra is not installed")


def test_dpo_adapter_trains_and_loads(pref_dir: Path) -> None:
    from peft import PeftModel

    from datagen.finetune.dpo import train_dpo_adapter
    from datagen.finetune.lora import LoraRequest, check_adapter, load_base
    from datagen.finetune.source import training_data

    result = train_dpo_adapter(training_data(pref_dir),
                               LoraRequest(steps=2, batch_size=2, max_length=96,
                                           learning_rate=2e-3), beta=0.2, evaluate=False)
    adapter = pref_dir / "finetune" / "lora_dpo"
    log = json.loads((adapter / "training_log.json").read_text())
    assert [e["step"] for e in log["loss_per_step"]] == [1, 2]
    assert all(math.isfinite(e["loss"]) for e in log["loss_per_step"])
    assert log["beta"] == 0.2 and log["method"] == "dpo"
    recorded = json.loads((pref_dir / "manifest.json").read_text())["finetune"]["lora_dpo"]
    assert recorded["adapter"] == result["adapter"] and recorded["base"]["kind"] == "embedded"
    assert check_adapter(adapter, None)["method"] == "dpo"
    model, _ = load_base(None)
    loaded = PeftModel.from_pretrained(model, str(adapter))
    assert loaded.peft_config["default"].peft_type == "LORA"
    assert not (adapter / "trainer").exists()
