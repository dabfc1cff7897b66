"""What a client's life asked, answered, reused, retried and paid: the counters stages return
and the progress line shows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Usage:
    """Counters of a client's life: what was asked, answered, reused, retried and paid."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    rate_wait_s: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The live totals shown next to a progress bar."""
        return (f"{self.requests} calls, {self.cache_hits} cached, "
                f"{self.prompt_tokens + self.completion_tokens} tok, ${self.cost_usd:.4f}")
