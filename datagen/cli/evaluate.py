"""`datagen eval`: prompting vs fine-tuning vs adapter on a run's validation split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagen.cli.app import app


@app.command("eval")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    finetuned: Annotated[str, typer.Option(
        help="Candidate (c): auto (the local adapter, else the OpenAI model), lora, openai "
             "or none.")] = "auto",
    max_tokens: Annotated[int, typer.Option(min=1, help="Answer length cap.")] = 256,
    shots: Annotated[int, typer.Option(min=0, help="Few-shot examples for (b).")] = 2,
    limit: Annotated[int | None, typer.Option(min=1, help="Use the first N instructions.")]
    = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Endpoint of an OpenAI fine-tuned model (default as finetune).")]
    = None,
    judge_base_url: Annotated[str | None, typer.Option(
        "--judge-base-url", help="OpenAI-compatible judge endpoint: adds pairwise win rates.")]
    = None,
    judge_model: Annotated[str | None, typer.Option(help="The judge's model.")] = None,
    judge_api_key_env: Annotated[str, typer.Option(
        help="Env variable holding the judge's key.")] = "OPENAI_API_KEY",
) -> None:
    """Answer the validation instructions with (a) the base model, (b) the base model with
    the seed's persona and few-shot examples, (c) the fine-tuned model or the base with the
    local adapter; score them (ROUGE-L to the references, length, tokens, latency, cost; a
    judge's pairwise preference with position swap when --judge-base-url is given)."""
    from datagen.cli.finetune import jobs_endpoint
    from datagen.config import LLMConfig
    from datagen.errors import ConfigError
    from datagen.evaluate.comparison import EvalRequest, evaluate, which_finetuned
    from datagen.files import locked
    from datagen.finetune.source import training_data
    from datagen.llm.endpoint import resolve
    from datagen.secrets import stash

    if finetuned not in ("auto", "lora", "openai", "none"):
        raise ConfigError(f"--finetuned {finetuned!r}: unknown",
                          hint="use auto, lora, openai or none")
    data = training_data(run_dir)
    judge = None
    if judge_base_url:
        from datagen.llm.endpoint import configured_base_url

        cfg = LLMConfig(base_url=stash(judge_base_url), model=judge_model,
                        api_key_env=judge_api_key_env)
        judge = resolve(cfg, configured_base_url(cfg) or judge_base_url)
    req = EvalRequest(finetuned=finetuned, max_tokens=max_tokens, shots=shots, limit=limit,
                      judge=judge)
    with locked(data.folder.root, "eval"):
        if which_finetuned(data, finetuned) == "openai":
            job = data.manifest["finetune"]["openai"]
            req.openai_endpoint = jobs_endpoint(data.config.llm, job["model"], base_url)
        evaluate(data, req)
