"""A DPO LoRA adapter trained on this machine's CPU (extra `train`), from the run's
`hf/` folder's `preference` config as it is: TRL's `DPOTrainer` reads its `prompt`, `chosen`
and `rejected` message lists through the base model's chat template. The reference model is
the base itself (the adapter switched off), so no second copy is held in memory.

    finetune/lora_dpo/          the adapter (PEFT files), the tokenizer, and
      training_log.json         loss and reward margin per step, eval loss before and after,
                                seconds and peak memory
      datagen.json              which base it was trained on (`lora.check_adapter` reads it)

The base, its loading and the progress board are the SFT adapter's (`datagen.finetune.lora`).
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import asdict
from typing import Any

from datagen.errors import ConfigError
from datagen.files import atomic_dir, write_json
from datagen.finetune.lora import (
    LORA_TARGETS,
    MARKER,
    LoraRequest,
    _progress_callback,
    base_identity,
    check_installed,
    fit_and_save,
    load_base,
)
from datagen.finetune.source import TrainingData

COLUMNS = ["prompt", "chosen", "rejected"]
DEFAULT_BETA = 0.1  # TRL's default


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def train_dpo_adapter(data: TrainingData, req: LoraRequest, beta: float | None = None, *,
                      evaluate: bool = True) -> dict[str, Any]:
    """Train, evaluate before and after (when the run has validation pairs and `evaluate`),
    and save the adapter and its log in the run folder."""
    check_installed()
    data.files("dpo")  # no preference pairs: the clear error, before loading anything
    import datasets
    from peft import LoraConfig
    from transformers.utils import logging as hf_logging
    from trl import DPOConfig, DPOTrainer

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()

    started = time.perf_counter()
    identity = base_identity(req.base)
    try:
        splits = datasets.load_dataset(str(data.folder.hf.resolve()), "preference")
    except ValueError as exc:  # an export without the config
        raise ConfigError(f"{data.folder.hf}: no `preference` config ({exc})",
                          hint="rerun `datagen run` with --preference") from None
    train = splits["train"].select_columns(COLUMNS)
    validation = (splits["validation"].select_columns(COLUMNS)
                  if evaluate and "validation" in splits else None)
    steps = req.steps or math.ceil(len(train) * (req.epochs or 1) / req.batch_size)
    if steps * req.batch_size < len(train):  # only the pairs the steps will see are prepared
        train = train.select(range(steps * req.batch_size))
    model, tokenizer = load_base(req.base)
    out = data.root / "lora_dpo"
    with atomic_dir(out) as tmp:
        args = DPOConfig(
            output_dir=str(tmp / "trainer"), max_steps=steps, beta=beta or DEFAULT_BETA,
            per_device_train_batch_size=req.batch_size,
            per_device_eval_batch_size=req.batch_size, learning_rate=req.learning_rate,
            lr_scheduler_type="constant", warmup_steps=0, logging_steps=1, save_strategy="no",
            eval_strategy="no", report_to=[], use_cpu=True, seed=req.seed,
            max_length=req.max_length, dataloader_num_workers=0, disable_tqdm=True,
            gradient_checkpointing=False,
        )
        lora = LoraConfig(r=req.rank, lora_alpha=req.alpha, lora_dropout=0.0,
                          target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
        trainer = DPOTrainer(model=model, args=args, train_dataset=train,
                             eval_dataset=validation, processing_class=tokenizer,
                             peft_config=lora, callbacks=[_progress_callback(steps)])
        base_loss, eval_loss = fit_and_save(trainer, tokenizer, tmp,
                                            loss=_finite if validation else None)
        seconds = time.perf_counter() - started
        log = {
            "method": "dpo", "beta": args.beta, "steps": steps,
            "pairs": {"train": len(train), "validation": len(validation or [])},
            "loss_per_step": [{"step": e["step"], "loss": e["loss"],
                               "reward_margin": e.get("rewards/margins")}
                              for e in trainer.state.log_history if "loss" in e],
            "eval_loss_base": base_loss, "eval_loss": eval_loss, "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "request": asdict(req),
        }
        write_json(tmp / "training_log.json", log)
        write_json(tmp / MARKER, {"base": identity, "method": "dpo",
                                  "trained_on_generation": data.generation,
                                  "run_id": data.manifest.get("run_id")})
    result = {"adapter": str(out), "base": identity, "method": "dpo", "beta": args.beta,
              "steps": steps, "eval_loss_base": base_loss, "eval_loss": eval_loss,
              "seconds": log["seconds"], "peak_rss_mb": log["peak_rss_mb"],
              "trained_on_generation": data.generation,
              "log": "finetune/lora_dpo/training_log.json"}
    data.record("lora_dpo", result)
    return result
