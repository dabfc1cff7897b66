"""Personas: who is asking. The same task asked by a first-time founder and by an in-house
counsel reads differently; crossing personas with tasks/topics varies voice and expertise.

Personas come from the seed (`strategies.personas.personas`) or, when none are given, from one
LLM call; either way the list is saved in the run folder (`personas/<seed>.json`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datagen.config import GenerationConfig
from datagen.files import write_json
from datagen.generate.ask import ask_list
from datagen.generate.parse import format_line
from datagen.generate.requests import params_for
from datagen.llm.client import LLMClient
from datagen.llm.wire import LLMCallError
from datagen.prompts import render
from datagen.seeds import PersonasStrategy, SeedTask
from datagen.text import normalize

LIST_PROMPT = "persona_list.v1"
FALLBACK = "a typical user of this assistant"
MAX_PERSONA_CHARS = 200


def persona_list_request(seed: SeedTask, gen: GenerationConfig, strat: PersonasStrategy,
                         mode: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    user = render(LIST_PROMPT, domain=seed.domain, description=seed.description,
                  task=seed.task, n=strat.generate,
                  format=format_line(mode, "personas", what="people"))
    params = params_for(gen, strat, mode, strat.generate, key="personas",
                        max_chars=MAX_PERSONA_CHARS)
    return [{"role": "user", "content": user}], params


async def get_personas(seed: SeedTask, client: LLMClient, gen: GenerationConfig,
                       strat: PersonasStrategy, mode: str) -> tuple[list[str], dict[str, Any]]:
    """The personas and how they were obtained (`seed`, `llm`, or `fallback` when the model
    gave nothing usable: generation goes on with one neutral persona)."""
    if strat.personas:
        return list(strat.personas), {"source": "seed"}
    messages, params = persona_list_request(seed, gen, strat, mode)
    try:
        asked = await ask_list(client, messages, params, sample=0, mode=mode, key="personas",
                               what="people")
    except LLMCallError as exc:
        return [FALLBACK], {"source": "fallback", "error": exc.reason}
    seen: set[str] = set()
    people = []
    for p in asked.items:
        key = normalize(p)
        if key and key not in seen and len(p.split()) >= 2:
            seen.add(key)
            people.append(p[:MAX_PERSONA_CHARS])
    if not people:
        return [FALLBACK], {"source": "fallback", **asked.meta}
    return people[:strat.generate], {"source": "llm", **asked.meta}


def save_personas(folder: str | Path, seed: SeedTask, people: list[str],
                  info: dict[str, Any]) -> Path:
    path = Path(folder) / "personas" / f"{seed.id}.json"
    write_json(path, {"seed_id": seed.id, "personas": people, **info})
    return path
