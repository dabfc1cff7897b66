"""`datagen finetune RUN_DIR --recipes`: the TRL script trains for real (two steps, on a tiny
randomly initialised model of the embedded model's architecture and tokenizer: no download);
the Axolotl and LLaMA-Factory files are checked against the keys and values their documents
list (neither trainer installs here: both pull GPU stacks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli import cli

# Axolotl docs, "Dataset Formats > Conversation > chat_template" and "Dataset Loading"
AXOLOTL_DATASET_KEYS = {"path", "ds_type", "type", "split", "field_messages",
                        "message_property_mappings", "roles_to_train", "data_files", "name"}
AXOLOTL_DS_TYPES = {"json", "csv", "parquet", "arrow", "text"}
# LLaMA-Factory data/README: a dataset description and the sharegpt tags
LLAMAFACTORY_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name",
                     "formatting", "ranking", "subset", "split", "folder", "num_samples",
                     "columns", "tags"}
LLAMAFACTORY_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools",
                        "images", "videos", "audios", "chosen", "rejected", "kto_tag"}
LLAMAFACTORY_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
                     "function_tag", "system_tag"}


def test_axolotl_and_llamafactory_follow_their_schemas(run_dir: Path) -> None:
    code, out = cli("finetune", run_dir, "--recipes")
    assert code == 0, out
    folder = run_dir / "finetune" / "recipes"
    block = yaml.safe_load((folder / "axolotl.yaml").read_text())
    assert block["chat_template"] == "tokenizer_default"
    for section in ("datasets", "test_datasets"):
        (entry,) = block[section]
        assert set(entry) <= AXOLOTL_DATASET_KEYS and entry["type"] == "chat_template"
        assert entry["ds_type"] in AXOLOTL_DS_TYPES
        rows = [json.loads(x) for x in (folder / entry["path"]).read_text().splitlines()]
        roles = {m[entry["message_property_mappings"]["role"]]
                 for r in rows for m in r[entry["field_messages"]]}
        assert set(entry["roles_to_train"]) <= roles <= {"system", "user", "assistant"}
    info = json.loads((folder / "dataset_info.json").read_text())
    assert len(info) == 2
    for name, entry in info.items():
        assert set(entry) <= LLAMAFACTORY_KEYS and entry["formatting"] == "sharegpt"
        assert set(entry["columns"]) <= LLAMAFACTORY_COLUMNS
        assert set(entry["tags"]) <= LLAMAFACTORY_TAGS
        rows = [json.loads(x) for x in (folder / entry["file_name"]).read_text().splitlines()]
        tags = entry["tags"]
        for r in rows:
            msgs = r[entry["columns"]["messages"]]
            assert {m[tags["role_tag"]] for m in msgs} <= {tags["user_tag"],
                                                           tags["assistant_tag"],
                                                           tags["system_tag"]}
            assert all(isinstance(m[tags["content_tag"]], str) for m in msgs)
        split = "validation" if name.endswith("_validation") else "train"
        assert entry["file_name"].endswith(f"openai/{split}.jsonl")
    recorded = json.loads((run_dir / "manifest.json").read_text())["finetune"]["recipes"]
    assert recorded["files"] == ["trl_sft.py", "axolotl.yaml", "dataset_info.json"]


def test_the_trl_recipe_trains(adapter_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from datagen.finetune.recipes import write_recipes
    from datagen.finetune.source import training_data

    tokenizer = AutoTokenizer.from_pretrained(adapter_run / "finetune" / "lora")
    tiny = tmp_path / "tiny"
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32,
                                 intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2)
                     ).save_pretrained(tiny)
    tokenizer.save_pretrained(tiny)
    script = write_recipes(training_data(adapter_run)) / "trl_sft.py"
    out = tmp_path / "adapter"
    done = subprocess.run(
        [sys.executable, str(script), "--model", str(tiny), "--output", str(out),
         "--max-steps", "2", "--batch-size", "2", "--max-length", "64", "--rank", "4"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "eval_loss" in done.stdout
    assert (out / "adapter_model.safetensors").is_file()
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4
