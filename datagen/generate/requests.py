"""The messages and sampling parameters of each strategy's calls (`format_input`, in effect).

Every builder is a pure function of the seed, the config and what the planner chose (sample
index, exemplars, leaf topic, persona, parent instruction), so a rerun builds byte-identical
requests and the response cache answers them all.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from datagen.config import GenerationConfig
from datagen.generate.parse import JSON_MODES, format_line, response_format
from datagen.prompts import render, template
from datagen.seeds import Example, Sampling, SeedTask
from datagen.seeds.sources import Unit
from datagen.seeds.tables import fill

EXPAND_PROMPT = "expand.v1"
BOOTSTRAP_PROMPT = "bootstrap.v1"
TOPICS_PROMPT = "topics.v1"
PERSONAS_PROMPT = "personas.v1"
EVOLVE_PROMPT = "evolve.v1"
GROUNDED_PROMPT = "expand_grounded.v1"
TOOLS_TASK_PROMPT = "task_tools.v1"
SCHEMA_TASK_PROMPT = "task_schema.v1"
OPERATORS_FILE = "evolve_operators.v1"

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ja": "Japanese",
    "ko": "Korean", "zh-cn": "Chinese", "vi": "Vietnamese", "id": "Indonesian",
}

Request = tuple[list[dict[str, str]], dict[str, Any], dict[str, Any]]


def task_text(seed: SeedTask, task: str | None = None) -> str:
    """The seed's task as expansion asks for it: a seed with `tools` asks for requests that
    need them (and some that need none), one with `output_schema` for requests its JSON
    answer can fill."""
    task = task or seed.task
    if seed.tools:
        listed = "\n".join(f"- {t.name}: {t.function.description or '(no description)'}"
                           for t in seed.tools)
        return render(TOOLS_TASK_PROMPT, task=task, tools=listed)
    if seed.output_schema is not None:
        fields = list(seed.output_schema.get("properties") or {})
        return render(SCHEMA_TASK_PROMPT, task=task,
                      fields=", ".join(fields) if fields else "its schema gives")
    return task


def language_name(seed: SeedTask) -> str:
    return LANGUAGE_NAMES.get(seed.language, seed.language)


def example_text(ex: Example) -> str:
    return ex.instruction if not ex.input else f"{ex.instruction} Input: {ex.input}"


def numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {text}" for i, text in enumerate(items, 1))


def params_for(gen: GenerationConfig, strat: Sampling | None, mode: str, n: int,
               *, key: str = "instructions", max_chars: int = 300) -> dict[str, Any]:
    """Generation defaults, overridden by what the strategy sets, plus the bounded schema."""
    params: dict[str, Any] = {
        "temperature": gen.expand_temperature,
        "top_p": gen.expand_top_p,
        "max_tokens": gen.expand_max_tokens,
    }
    if strat is not None:
        for name in ("temperature", "top_p", "max_tokens"):
            value = getattr(strat, name)
            if value is not None:
                params[name] = value
    fmt = response_format(mode, n, key, max_chars)
    if fmt is not None:
        params["response_format"] = fmt
    return params


def with_system(seed: SeedTask, user: str) -> list[dict[str, str]]:
    system = render("expand_system.v1", domain=seed.domain, description=seed.description)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _shown_examples(seed: SeedTask, k: int, rng: random.Random) -> str:
    shown = rng.sample(seed.examples, min(k, len(seed.examples))) if k else []
    return numbered([example_text(ex) for ex in shown])


def plain_request(seed: SeedTask, gen: GenerationConfig, strat: Sampling | None, mode: str,
                  sample: int, rng_seed: int) -> Request:
    """Few-shot expansion from seed examples, cycling through the seed's own topics."""
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    topic = seed.topics[sample % len(seed.topics)] if seed.topics else None
    user = render(
        EXPAND_PROMPT, task=task_text(seed), examples=_shown_examples(seed, gen.few_shot, rng), n=n,
        language=language_name(seed), focus=f" Focus on this topic: {topic}." if topic else "",
        format=format_line(mode),
    )
    meta = {"prompt": EXPAND_PROMPT, "topic": topic}
    return with_system(seed, user), params_for(gen, strat, mode, n), meta


def bootstrap_exemplars(seed: SeedTask, pool: list[str], k: int, machine_share: float,
                        rng: random.Random) -> tuple[list[str], int]:
    """Self-Instruct's mix: mostly seed examples, some kept generations; shuffled.
    Returns the exemplars and how many came from the generated pool."""
    human = [example_text(ex) for ex in seed.examples]
    machine = min(len(pool), round(k * machine_share))
    people = min(len(human), k - machine)
    machine = min(len(pool), k - people)  # too few seed examples: fill from the pool
    chosen = rng.sample(human, people) + rng.sample(pool, machine)
    rng.shuffle(chosen)
    return chosen, machine


def bootstrap_request(seed: SeedTask, gen: GenerationConfig, strat: Any, mode: str,
                      sample: int, rng_seed: int, pool: list[str]) -> Request:
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    shown, machine = bootstrap_exemplars(seed, pool, strat.exemplars, strat.machine_share, rng)
    # Self-Instruct's continuation: numbering goes on after the exemplars, which even a
    # small model follows better than "write n new ones"
    first = len(shown) + 1
    fmt = format_line(mode, what="tasks") if mode in JSON_MODES else (
        f"Answer with the new tasks only, one per line, each starting with its number "
        f"({first}. {first + 1}. ...), and nothing else.")
    user = render(BOOTSTRAP_PROMPT, task=task_text(seed), exemplars=numbered(shown), n=n,
                  first=first, last=first + n - 1, language=language_name(seed), format=fmt)
    meta = {"prompt": BOOTSTRAP_PROMPT, "exemplars": len(shown), "machine_exemplars": machine}
    return with_system(seed, user), params_for(gen, strat, mode, n), meta


def topics_request(seed: SeedTask, gen: GenerationConfig, strat: Any, mode: str,
                   sample: int, rng_seed: int, leaf: dict[str, Any]) -> Request:
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    path = " > ".join(leaf["path"])
    user = render(TOPICS_PROMPT, task=task_text(seed),
                  examples=_shown_examples(seed, gen.few_shot, rng), n=n,
                  language=language_name(seed), topic=leaf["topic"], path=path,
                  format=format_line(mode))
    meta = {"prompt": TOPICS_PROMPT, "topic": leaf["topic"], "topic_path": path}
    return with_system(seed, user), params_for(gen, strat, mode, n), meta


def personas_request(seed: SeedTask, gen: GenerationConfig, strat: Any, mode: str,
                     sample: int, rng_seed: int, persona: str, topic: str | None) -> Request:
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    user = render(PERSONAS_PROMPT, task=task_text(seed),
                  examples=_shown_examples(seed, gen.few_shot, rng), persona=persona, n=n,
                  language=language_name(seed),
                  focus=f" Their requests are about: {topic}." if topic else "",
                  format=format_line(mode))
    meta = {"prompt": PERSONAS_PROMPT, "persona": persona, "topic": topic}
    return with_system(seed, user), params_for(gen, strat, mode, n), meta


@functools.cache
def operators() -> dict[str, str]:
    """Evol-Instruct operators: `name: what to do`, one a line, in a versioned file."""
    out = {}
    for line in template(OPERATORS_FILE).splitlines():
        if ":" in line:
            name, text = line.split(":", 1)
            out[name.strip()] = text.strip()
    return out


def evolve_request(seed: SeedTask, gen: GenerationConfig, strat: Any, mode: str,
                   parent: str, operator: str) -> Request:
    user = render(EVOLVE_PROMPT, instruction=parent, operation=operators()[operator],
                  language=language_name(seed),
                  format=format_line(mode, what="requests", single=True))
    meta = {"prompt": EVOLVE_PROMPT, "operator": operator}
    return with_system(seed, user), params_for(gen, strat, mode, 1, max_chars=600), meta


def grounded_request(seed: SeedTask, gen: GenerationConfig, strat: Sampling | None, mode: str,
                     sample: int, rng_seed: int, unit: Unit, neighbours: list[Unit]) -> Request:
    """Expansion about one unit. A chunk is shown as a passage to ask about; a row fills the
    placeholders of the task (the examples are filled from other rows, so the model sees the
    pattern without copying this row's examples) and is shown as the reference."""
    rng = random.Random(f"{rng_seed}:{seed.id}:{sample}")
    n = gen.instructions_per_call
    shown = rng.sample(seed.examples, min(gen.few_shot, len(seed.examples))) if gen.few_shot \
        else []
    examples = []
    for i, ex in enumerate(shown):
        row = neighbours[i % len(neighbours)].fields if neighbours else unit.fields
        examples.append(fill(example_text(ex), row) if unit.kind == "row" else example_text(ex))
    task = task_text(seed, fill(seed.task, unit.fields) if unit.kind == "row" else None)
    user = render(GROUNDED_PROMPT, task=task, examples=numbered(examples), n=n,
                  language=language_name(seed), file=unit.file,
                  heading=f" (section: {unit.heading})" if unit.heading else "",
                  source=unit.text, format=format_line(mode))
    meta = {"prompt": GROUNDED_PROMPT, "source": unit.ref()}
    return with_system(seed, user), params_for(gen, strat, mode, n), meta
