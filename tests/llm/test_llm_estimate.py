"""`datagen estimate`: a forecast from the config alone, next to the price table it used."""

from __future__ import annotations

import math

from typer.testing import CliRunner

from datagen.cli import app
from datagen.config import RunConfig
from datagen.generate import expand_calls_needed, expand_request, structured_mode
from datagen.llm.estimate import forecast
from datagen.llm.tokens import count_chat_tokens
from datagen.seeds import load_seeds
from tests.conftest import NDA_SEED


def test_forecast_counts_the_real_prompts() -> None:
    cfg = RunConfig.model_validate({
        "seeds": [str(NDA_SEED)], "pairs": 40,
        "llm": {"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"}})
    fc = forecast(cfg)
    gen = cfg.generation
    calls = expand_calls_needed(40, gen)
    mode = structured_mode(cfg.llm, "openai")
    prompts = sum(count_chat_tokens(expand_request(s, gen, mode, i, cfg.seed)[0], "gpt-4o-mini")
                  for s in load_seeds([NDA_SEED])
                  for i in range(calls))
    expand, respond, judge = fc.lines
    assert judge.stage == "judge" and judge.requests == respond.requests  # on for OpenAI
    assert (expand.requests, expand.prompt_tokens) == (calls, prompts)
    assert respond.requests == math.ceil(40 * gen.respond_margin)
    assert respond.completion_max == respond.requests * gen.respond_max_tokens
    assert fc.price.source == "built-in"
    expected = (fc.total("prompt_tokens") * 0.15 + fc.total("completion_tokens") * 0.60) / 1e6
    assert abs(fc.cost_usd - expected) < 1e-9 and fc.cost_max_usd > fc.cost_usd > 0


def test_a_grounded_seed_is_forecast_with_its_chunks_in_the_prompts() -> None:
    from datagen.generate.work import gen_for
    from datagen.seeds.sources import units

    seed_file = NDA_SEED.parent / "privacy_policy_qa.yaml"
    cfg = RunConfig.model_validate({
        "seeds": [str(seed_file)], "pairs": 12,
        "llm": {"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"}})
    expand, respond, judge = forecast(cfg).lines
    seed = load_seeds([seed_file])[0]
    gen, chunks = gen_for(seed, cfg.generation), units(seed, cfg.seed)
    mode = structured_mode(cfg.llm, "openai")
    asked = [expand_request(seed, gen, mode, i, cfg.seed, chunks)[0]
             for i in range(expand.requests)]
    assert expand.requests == expand_calls_needed(12, gen)  # per_unit instructions a call
    assert expand.prompt_tokens == sum(count_chat_tokens(m, "gpt-4o-mini") for m in asked)
    assert all(chunks[i % len(chunks)].text in m[-1]["content"] for i, m in enumerate(asked))
    shortest = min(len(u.text) for u in chunks) // 4  # tokens: about 4 characters each
    assert respond.prompt_tokens / respond.requests > shortest
    assert judge.prompt_tokens / judge.requests > shortest


def test_estimate_command_prints_forecast_and_prices() -> None:
    result = CliRunner().invoke(app, ["estimate", str(NDA_SEED), "--pairs", "10", "--model",
                                      "gpt-4o-mini", "--base-url", "https://api.openai.com/v1",
                                      "--batch"])
    assert result.exit_code == 0, result.output
    assert "price table used" in result.output and "0.15" in result.output
    assert "batch: half price" in result.output and "forecast: $" in result.output
    local = CliRunner().invoke(app, ["estimate", str(NDA_SEED), "--pairs", "10"])
    assert local.exit_code == 0 and "local model: no charge" in local.output
