"""What a call costs: a price table per model, overridable in the run config.

Prices are USD per million tokens. The built-in table holds OpenAI's published standard-tier
prices at the time of writing; prices change, so `llm.prices` in the run config adds models
and overrides these (a longest name-prefix match, so dated snapshots such as
`gpt-4o-mini-2024-07-18` find `gpt-4o-mini`). The Batch API costs half. A model on the
embedded or a loopback server costs 0; an unknown remote model also counts as 0, with a note
saying so, because a made-up price would be worse than an admitted unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from datagen.config import LLMConfig, ModelPrice

BATCH_DISCOUNT = 0.5

BUILTIN: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}

_FREE_KINDS = {"embedded", "local"}


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens of one model, and where that number came from."""

    model: str
    input: float
    output: float
    source: str  # "config" | "built-in" | "local" | "unknown"
    batch: bool = False

    @property
    def free(self) -> bool:
        return self.input == 0 and self.output == 0

    @property
    def note(self) -> str:
        if self.source == "local":
            return "local model: no charge"
        if self.source == "unknown":
            return (f"no price known for {self.model!r}: counted as $0; "
                    "set llm.prices in the run config")
        if self.source == "built-in":
            return "built-in table (check current prices; override in llm.prices)"
        return "from llm.prices"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        factor = BATCH_DISCOUNT if self.batch else 1.0
        return factor * (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


def _lookup(model: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    name = model.lower()
    if name.startswith("ft:"):
        name = name.split(":")[1]
    name = name.rsplit("/", 1)[-1]
    best = None
    for prefix in table:
        if name.startswith(prefix.lower()) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else table[best]


def price_for(model: str, kind: str, overrides: dict[str, ModelPrice] | None = None,
              *, batch: bool = False) -> Price:
    """The price of `model` at an endpoint of `kind` (see `datagen.llm.endpoint`)."""
    configured = {k: (v.input, v.output) for k, v in (overrides or {}).items()}
    if (hit := _lookup(model, configured)) is not None:
        return Price(model, *hit, source="config", batch=batch)
    if kind in _FREE_KINDS:
        return Price(model, 0.0, 0.0, source="local", batch=batch)
    if (hit := _lookup(model, BUILTIN)) is not None:
        return Price(model, *hit, source="built-in", batch=batch)
    return Price(model, 0.0, 0.0, source="unknown", batch=batch)


def price_from_config(model: str, kind: str, llm: LLMConfig) -> Price:
    return price_for(model, kind, llm.prices, batch=llm.batch)


def price_table(model: str, kind: str, llm: LLMConfig) -> list[tuple[str, str, str, str]]:
    """Rows (model, $/1M in, $/1M out, source) for display: the model used first."""
    used = price_from_config(model, kind, llm)
    suffix = " (batch: half price)" if used.batch else ""
    rows = [(model, f"{used.input:.2f}", f"{used.output:.2f}", used.note + suffix)]
    for name, p in llm.prices.items():
        if name != model:
            rows.append((name, f"{p.input:.2f}", f"{p.output:.2f}", "from llm.prices"))
    return rows
