"""How the flow's stage tasks find their results again: a rerun of a failed or killed run
with the same parameters repeats no completed stage. A stage's cache key is its inputs (frames
by their content) and its source; its result is stored in the run folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import xxhash
from prefect.cache_policies import TASK_SOURCE, CachePolicy, Inputs

from datagen.llm.endpoint import Endpoint


def _content(value: Any) -> Any:
    """A DataFrame or Series as a digest of its content (Prefect's own transform pickles the
    columns, and a frame read back from a persisted result pickles differently from the one
    computed, so a stage downstream of a cached stage would never hit its cache); an endpoint
    as its identity and model: its base URL changes each time the embedded model starts, and
    its API key must never be part of a key."""
    if isinstance(value, Endpoint):
        return ("endpoint", value.identity, value.model)
    if isinstance(value, pd.DataFrame | pd.Series):
        rows = pd.util.hash_pandas_object(value, index=True).to_numpy()
        shape = ([str(c) for c in value.columns], [str(t) for t in value.dtypes]) if isinstance(
            value, pd.DataFrame) else (str(value.name), str(value.dtype))
        return ("frame", shape, xxhash.xxh3_128_hexdigest(rows.tobytes()))
    return value


@dataclass
class ContentInputs(CachePolicy):
    """Prefect's INPUTS policy, with frames keyed by their content. (Not a subclass of
    `Inputs`: a compound policy would replace it with a plain `Inputs`.)"""

    exclude: list[str] = field(default_factory=list)

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        stable = {k: _content(v) for k, v in (inputs or {}).items() if k not in self.exclude}
        return Inputs().compute_key(task_ctx, stable, flow_parameters, **kwargs)

    def __sub__(self, other: str) -> CachePolicy:
        return replace(self, exclude=[*self.exclude, other])


STAGE_CACHE: CachePolicy = ContentInputs() + TASK_SOURCE
STAGE_RESULTS = "stages"


def stage_storage(out: str | Path) -> Path:
    """Stage results live in the run folder: a rerun with the same `out` finds them, and
    deleting the run folder forgets them along with the LLM cache. (A path, not an unsaved
    storage block, which Prefect refuses.)"""
    return (Path(out) / STAGE_RESULTS).resolve()
