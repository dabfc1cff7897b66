"""Ready-to-run recipes for open-weights trainers, written per run into `finetune/recipes/`:

    trl_sft.py            a TRL SFT + LoRA script over the run's `hf/` folder (train and
                          validation splits, `messages` column, the model's chat template)
    axolotl.yaml          an Axolotl `datasets:` / `test_datasets:` block (chat_template type
                          over the OpenAI JSONL files)
    dataset_info.json     a LLaMA-Factory dataset description (sharegpt formatting with
                          OpenAI role/content tags) for the train and validation files; use
                          the recipes folder as its `dataset_dir`

Paths are relative to the recipes folder, so a run folder can be moved or copied whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from datagen.files import write_json, write_text
from datagen.finetune.source import TrainingData

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the embedded model's weights

TRL_SCRIPT = '''"""TRL SFT with a LoRA adapter on datagen run {run_id} (generation {generation}).

    pip install torch transformers trl peft   # plus gguf to load a .gguf file
    python trl_sft.py --model {model} --output adapter

The data is the run's hf/ folder: its train split trains, its validation split gives the eval
loss; the `messages` column goes through the model's chat template.
"""

import argparse
from pathlib import Path

import torch
from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

HF = Path(__file__).resolve().parent / {hf!r}

parser = argparse.ArgumentParser()
parser.add_argument("--model", default={model!r}, help="Hub id or local folder")
parser.add_argument("--gguf-file", default=None, help="a .gguf file inside --model")
parser.add_argument("--output", default="adapter")
parser.add_argument("--max-steps", type=int, default=-1)
parser.add_argument("--epochs", type=float, default=1.0)
parser.add_argument("--batch-size", type=int, default=4)
parser.add_argument("--learning-rate", type=float, default=2e-4)
parser.add_argument("--max-length", type=int, default=1024)
parser.add_argument("--rank", type=int, default=8)
args = parser.parse_args()

splits = load_dataset(str(HF))
extra = {{"gguf_file": args.gguf_file}} if args.gguf_file else {{}}
tokenizer = AutoTokenizer.from_pretrained(args.model, **extra)
model = AutoModelForCausalLM.from_pretrained(args.model, **extra)
if getattr(model, "hf_quantizer", None) is not None:
    # a GGUF file loads as float weights but keeps its quantizer tag, which Trainer refuses
    model.hf_quantizer = None
    model.is_quantized = False
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
config = SFTConfig(
    output_dir=args.output, max_steps=args.max_steps, num_train_epochs=args.epochs,
    per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
    learning_rate=args.learning_rate, max_length=args.max_length, logging_steps=1,
    save_strategy="no", eval_strategy="no", report_to=[], gradient_checkpointing=False,
    use_cpu=not torch.cuda.is_available(),
)
trainer = SFTTrainer(
    model=model, args=config, processing_class=tokenizer,
    train_dataset=splits["train"].select_columns(["messages"]),
    eval_dataset=splits["validation"].select_columns(["messages"]),
    peft_config=LoraConfig(r=args.rank, lora_alpha=2 * args.rank, task_type="CAUSAL_LM",
                           target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]),
)
trainer.train()
print("eval_loss", trainer.evaluate()["eval_loss"])
trainer.save_model(args.output)
'''


def _rel(target: Path, start: Path) -> str:
    return os.path.relpath(target, start)


def axolotl_block(train: str, validation: str) -> dict[str, Any]:
    """Axolotl's chat_template dataset type over OpenAI-style JSONL."""

    def entry(path: str) -> dict[str, Any]:
        return {"path": path, "ds_type": "json", "type": "chat_template", "split": "train",
                "field_messages": "messages",
                "message_property_mappings": {"role": "role", "content": "content"},
                "roles_to_train": ["assistant"]}

    return {"chat_template": "tokenizer_default", "datasets": [entry(train)],
            "test_datasets": [entry(validation)]}


def llamafactory_entry(name: str, train: str, validation: str) -> dict[str, Any]:
    """LLaMA-Factory's sharegpt formatting with OpenAI role/content tags."""

    def entry(path: str) -> dict[str, Any]:
        return {"file_name": path, "formatting": "sharegpt", "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"}}

    return {f"{name}_train": entry(train), f"{name}_validation": entry(validation)}


def write_recipes(data: TrainingData, model: str = DEFAULT_MODEL) -> Path:
    """Write the three recipes into `finetune/recipes/` and return the folder."""
    folder = data.root / "recipes"
    folder.mkdir(parents=True, exist_ok=True)
    train, validation = (_rel(p, folder) for p in (data.train, data.validation))
    name = f"datagen_{data.manifest.get('run_id', 'run')}"
    write_text(folder / "trl_sft.py", TRL_SCRIPT.format(
        run_id=data.manifest.get("run_id"), generation=data.generation, model=model,
        hf=_rel(data.folder.hf, folder)))
    header = (f"# Axolotl datasets for datagen run {data.manifest.get('run_id')}: merge into "
              "your config (base_model, adapter: lora, ...) and run it from this folder (the "
              "paths are relative to it).\n")
    write_text(folder / "axolotl.yaml",
               header + yaml.safe_dump(axolotl_block(train, validation), sort_keys=False))
    write_json(folder / "dataset_info.json", llamafactory_entry(name, train, validation))
    data.record("recipes", {"folder": "finetune/recipes",
                            "files": ["trl_sft.py", "axolotl.yaml", "dataset_info.json"],
                            "generation_id": data.generation})
    return folder
