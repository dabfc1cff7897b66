"""`datagen finetune`: train on a finished run, with OpenAI fine-tuning jobs or, with
`--local`, a LoRA adapter on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from datagen.cli.app import INTERRUPTED, app
from datagen.console import console, esc
from datagen.errors import ConfigError

OPENAI_URL = "https://api.openai.com/v1"


def jobs_endpoint(llm: Any, model: str, base_url: str | None) -> Any:
    """The fine-tuning API to use: --base-url, then the run's endpoint or $OPENAI_BASE_URL,
    then OpenAI (a run made on the embedded model still fine-tunes on OpenAI)."""
    from datagen.llm.endpoint import configured_base_url, resolve
    from datagen.secrets import stash

    cfg = llm.model_copy(update={"model": model, "base_url": stash(base_url) if base_url
                                 else llm.base_url})
    return resolve(cfg, configured_base_url(cfg) or OPENAI_URL, check=False)


@app.command()
def finetune(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    local: Annotated[bool, typer.Option(
        "--local", help="Train a LoRA adapter here (CPU; extra `train`), not a job.")] = False,
    model: Annotated[str | None, typer.Option(
        help="Model to fine-tune (default: the first of export.target_models); with --local, "
             "a local Hugging Face model folder (default: the embedded model).")] = None,
    suffix: Annotated[str | None, typer.Option(help="Suffix of the fine-tuned model's name.")]
    = None,
    seed: Annotated[int | None, typer.Option(help="Training seed.")] = None,
    epochs: Annotated[int | None, typer.Option(
        min=1, help="Epochs (default: the validate report's for this many examples).")] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="--local: optimiser steps (default: one epoch).")] = None,
    max_cost_usd: Annotated[float | None, typer.Option(
        "--max-cost-usd", help="Cap on the run folder's spend (default llm.max_cost_usd).")]
    = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Fine-tuning API (default: the run's endpoint, else OpenAI).")] = None,
    poll_s: Annotated[float, typer.Option("--poll-s", min=0.0, help="Seconds between polls.")]
    = 30.0,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Follow the job to its end (rerun later to resume).")] = True,
    restart: Annotated[bool, typer.Option(
        "--restart", help="Create a new job after one that ended (it stays in the record).")]
    = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the recorded job.")] = False,
    recipes: Annotated[bool, typer.Option(
        "--recipes", help="Write TRL, Axolotl and LLaMA-Factory recipes for the run; no "
                          "training.")] = False,
    method: Annotated[str, typer.Option(
        "--method", help="sft (the chat pairs) or dpo (the run's preference pairs).")] = "sft",
    beta: Annotated[float | None, typer.Option(
        "--beta", min=0.0, help="DPO's beta (how far from the start model; default: the "
                                "trainer's).")] = None,
    from_sft: Annotated[bool, typer.Option(
        "--from-sft", help="DPO: start from the model (or adapter, with --local) this run's "
                           "SFT training made.")] = False,
) -> None:
    """Fine-tune on a run's train split (validation split for eval loss). The job id is
    recorded before the job is confirmed: rerun the same command after a crash or Ctrl-C to
    resume following it; no second job is created."""
    from datagen.files import locked
    from datagen.finetune.source import training_data

    if method not in ("sft", "dpo"):
        raise ConfigError(f"--method {method}: unknown training method",
                          hint="use --method sft (chat pairs) or --method dpo (preference pairs)")
    if method != "dpo" and (beta is not None or from_sft):
        raise ConfigError("--beta and --from-sft are DPO options", hint="add --method dpo")
    data = training_data(run_dir)
    if method == "dpo":
        data.files("dpo")  # no preference pairs: one clear line before any call
    with locked(data.folder.root, "finetune"):
        if recipes:
            from datagen.finetune.recipes import DEFAULT_MODEL, write_recipes

            folder = write_recipes(data, model or DEFAULT_MODEL)
            console.print(f"recipes written in {esc(folder)}: trl_sft.py, axolotl.yaml, "
                          "dataset_info.json")
            return
        if local and method == "dpo":
            if from_sft:
                raise ConfigError("--local --method dpo starts from the base model for now",
                                  hint="drop --from-sft, or train DPO as an OpenAI job")
            from datagen.finetune.dpo import train_dpo_adapter
            from datagen.finetune.lora import LoraRequest

            result = train_dpo_adapter(data, LoraRequest(base=model, steps=steps, epochs=epochs,
                                                         seed=seed if seed is not None else 0),
                                       beta=beta)
            losses = "" if result["eval_loss"] is None else (
                f": eval loss {result['eval_loss_base']:.4f} (base) -> "
                f"{result['eval_loss']:.4f}")
            console.print(f"DPO adapter saved in {esc(result['adapter'])}{losses} in "
                          f"{result['seconds']:.0f} s, peak memory {result['peak_rss_mb']:.0f} MB")
            return
        if local:
            from datagen.finetune.lora import LoraRequest, train_adapter

            result = train_adapter(data, LoraRequest(base=model, steps=steps, epochs=epochs,
                                                     seed=seed if seed is not None else 0))
            console.print(f"adapter saved in {esc(result['adapter'])}: eval loss "
                          f"{result['eval_loss_base']:.4f} (base) -> "
                          f"{result['eval_loss']:.4f} in {result['seconds']:.0f} s, peak memory "
                          f"{result['peak_rss_mb']:.0f} MB")
            return
        from datagen.finetune.jobs import JobRequest, JobRunner

        target = model or (data.config.export.target_models or [None])[0]
        price_model = target
        if from_sft:
            sft = (data.manifest.get("finetune") or {}).get("openai") or {}
            if not sft.get("fine_tuned_model"):
                raise ConfigError(f"{run_dir}: no SFT model to start DPO from",
                                  hint="run `datagen finetune RUN_DIR` first, or drop --from-sft")
            target, price_model = sft["fine_tuned_model"], sft.get("model") or target
        if target is None:
            raise ConfigError("no model to fine-tune", hint="pass --model NAME")
        runner = JobRunner(data, jobs_endpoint(data.config.llm, target, base_url), method=method)
        try:
            if cancel:
                runner.cancel()
                return
            result = runner.run(JobRequest(model=target, suffix=suffix, seed=seed,
                                           n_epochs=epochs, max_cost_usd=max_cost_usd,
                                           poll_s=poll_s, restart=restart, wait=wait,
                                           method=method, beta=beta,
                                           price_model=price_model))
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: a created job goes on at the server; rerun "
                          "the same command to resume following it (or --cancel it)")
            raise typer.Exit(INTERRUPTED) from None
        finally:
            runner.close()
    if "fine_tuned_model" in result:
        console.print(f"fine-tuned model [bold]{esc(result['fine_tuned_model'])}[/]: "
                      f"{result['trained_tokens']:,} trained tokens, ${result['cost_usd']:.4f}")
    else:
        console.print(f"job {esc(result['job_id'])} is {esc(result['status'])}: rerun "
                      "`datagen finetune RUN_DIR` to follow it")
