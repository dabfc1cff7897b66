"""`datagen estimate`: what a run will ask for and cost, before anything is spent.

No endpoint is contacted and no model is started. The forecast follows the first round of a
run: per seed, the expansion calls needed for its pairs (with `overgenerate`), then one answer
per pair (with `respond_margin`). Prompt tokens are counted exactly from the real prompts
(expansion prompts are rendered as the run will render them; answer prompts use the seed's
example instructions as the typical instruction), with OpenAI's tokenizer: exact for OpenAI
models, an approximation for others. Completion tokens are a forecast: a list of
`instructions_per_call` instructions as long as the seed's examples, and answers as long as
the seed's example answers, else half of `respond_max_tokens`; the worst case is every call
using its full `max_tokens`. Later rounds (after curation drops) add to the real count, which
the run's manifest holds under `llm`. When the LLM judge is on (real endpoints), one verdict
per answered pair is forecast too. Calls of optional generation strategies (topic trees,
personas, evolution, follow-up turns) are not. A grounded seed's sources are read: its
prompts carry their chunks or rows, and its answer prompts the average unit. A seed with more
than `PROMPT_SAMPLE` expansion calls has that many of them (drawn with a fixed seed) counted
and scaled to all: their prompts differ only in the examples and the unit they show, and
counting a million prompts one by one would take minutes.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

from datagen.config import RunConfig
from datagen.llm.endpoint import configured_base_url, endpoint_kind
from datagen.llm.pricing import Price, price_for
from datagen.llm.tokens import count_chat_tokens, count_tokens
from datagen.seeds import SeedTask, load_seeds

LIST_ITEM_OVERHEAD = 3  # "12. " and the newline, per listed instruction
# Without example answers, an answer is forecast at half its max_tokens (measured on the
# embedded model: 166 of 384 on the NDA seed); the worst case still counts all of it.
ANSWER_SHARE = 0.5
JUDGE_VERDICT_TOKENS = 80  # three scores and a two-sentence rationale, as JSON
PROMPT_SAMPLE = 400  # expansion prompts counted per seed; more calls: a sample, scaled


@dataclass
class Line:
    """One stage's forecast for one seed."""

    seed: str
    stage: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    completion_max: int


@dataclass
class Forecast:
    model: str
    kind: str
    price: Price
    lines: list[Line] = field(default_factory=list)
    # per seed: its attempt limit at the planned yield, and the most it grows to (a fixed
    # generation.max_calls_per_seed gives the same number twice)
    call_limits: dict[str, tuple[int, int]] = field(default_factory=dict)

    def total(self, what: str) -> int:
        return sum(getattr(line, what) for line in self.lines)

    @property
    def cost_usd(self) -> float:
        return self.price.cost(self.total("prompt_tokens"), self.total("completion_tokens"))

    @property
    def cost_max_usd(self) -> float:
        return self.price.cost(self.total("prompt_tokens"), self.total("completion_max"))

    def as_dict(self) -> dict[str, float | int | str]:
        return {"model": self.model, "requests": self.total("requests"),
                "prompt_tokens": self.total("prompt_tokens"),
                "completion_tokens": self.total("completion_tokens"),
                "completion_tokens_max": self.total("completion_max"),
                "cost_usd": round(self.cost_usd, 6), "cost_max_usd": round(self.cost_max_usd, 6),
                "price_note": self.price.note}


def _mean_tokens(texts: list[str], model: str, default: float) -> float:
    counts = [count_tokens(t, model) for t in texts if t]
    return statistics.fmean(counts) if counts else default


def _seed_lines(seed: SeedTask, pairs: int, cfg: RunConfig, model: str, kind: str,
                mode: str) -> list[Line]:
    from datagen.checks.judge import judge_enabled
    from datagen.generate import expand_calls_needed, expand_request, respond_messages
    from datagen.generate.work import gen_for
    from datagen.llm.judge import judge_messages
    from datagen.seeds.sources import units

    gen = gen_for(seed, cfg.generation)
    grounded = units(seed, cfg.seed, cfg.source_roots)
    calls = expand_calls_needed(pairs, gen)
    counted = range(calls) if calls <= PROMPT_SAMPLE else \
        random.Random(cfg.seed).sample(range(calls), PROMPT_SAMPLE)
    prompt = sum(count_chat_tokens(expand_request(seed, gen, mode, sample, cfg.seed,
                                                  grounded)[0], model) for sample in counted)
    prompt = round(prompt * calls / len(counted))
    # a grounded answer carries its unit: the unit of average length stands for them all
    unit = sorted(grounded, key=lambda u: len(u.text))[len(grounded) // 2] if grounded \
        else None
    instruction = _mean_tokens([ex.instruction for ex in seed.examples], model, 40)
    listed = gen.instructions_per_call * (instruction + LIST_ITEM_OVERHEAD)
    expand = Line(seed.id, "expand", calls, prompt,
                  calls * min(gen.expand_max_tokens, math.ceil(listed)),
                  calls * gen.expand_max_tokens)
    answers = min(math.ceil(pairs * gen.respond_margin),
                  calls * gen.instructions_per_call)
    typical = respond_messages(seed.system, "x " * round(instruction), unit)
    answer = _mean_tokens([ex.response or "" for ex in seed.examples], model,
                          ANSWER_SHARE * gen.respond_max_tokens)
    respond = Line(seed.id, "respond", answers, answers * count_chat_tokens(typical, model),
                   answers * min(gen.respond_max_tokens, math.ceil(answer)),
                   answers * gen.respond_max_tokens)
    lines = [expand, respond]
    judge = cfg.curation.judge
    if judge_enabled(judge, kind):  # one verdict per answered pair
        asked = judge_messages(seed.domain, "x " * round(instruction), "x " * round(answer),
                               unit.text if unit else None)
        lines.append(Line(seed.id, "judge", answers, answers * count_chat_tokens(asked, model),
                          answers * min(judge.max_tokens, JUDGE_VERDICT_TOKENS),
                          answers * judge.max_tokens))
    return lines


def forecast(cfg: RunConfig) -> Forecast:
    """The forecast of a run config (see the module docstring for what it assumes)."""
    from datagen.generate import structured_mode
    from datagen.generate.work import MIN_YIELD, call_limit
    from datagen.llm import embedded

    base_url = configured_base_url(cfg.llm)
    kind = endpoint_kind(base_url) if base_url else "embedded"
    model = cfg.llm.model or (embedded.MODEL_ALIAS if kind == "embedded" else "unknown")
    price = price_for(model, kind, cfg.llm.prices, batch=cfg.llm.batch)
    mode = structured_mode(cfg.llm, kind)
    out = Forecast(model=model, kind=kind, price=price)
    gen = cfg.generation
    for seed in load_seeds(cfg.seeds):
        target = cfg.pairs or seed.pairs
        out.lines += _seed_lines(seed, target, cfg, model, kind, mode)
        out.call_limits[seed.id] = (call_limit(gen, target),
                                    call_limit(gen, target, assume_yield=MIN_YIELD))
    return out
