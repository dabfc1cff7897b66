"""The judge's verdict: a pair whose stored judge score is under `curation.judge.threshold`
is dropped `judge_low_score`. The scores come from the judge stage (`datagen.llm.judge`), run
before curation; the verdict reads them from `scores`, so changing the threshold re-curates a
run without a single new call."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason
from datagen.settings import Section


class JudgeConfig(Section):
    """LLM-as-judge: a rubric score per pair, stored in `scores`; low scores are dropped."""

    enabled: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: on for real endpoints, off for the embedded model."
    )
    threshold: float = Field(default=6.0, ge=1, le=10, description="Lowest score kept (1-10).")
    max_tokens: int = Field(default=256, ge=32)
    temperature: float = Field(default=0.0, ge=0, le=2)


def judge_enabled(cfg: JudgeConfig, endpoint_kind: str) -> bool:
    """auto: on for a real endpoint, off for the embedded model (too weak to judge)."""
    return cfg.enabled == "on" or (cfg.enabled == "auto" and endpoint_kind != "embedded")


def _low_score(ctx: Context) -> Verdicts:
    """Records whose stored judge score is below the threshold (unscored ones pass)."""
    threshold = ctx.cfg.judge.threshold
    low = [isinstance(sc.get("judge"), int | float) and float(sc["judge"]) < threshold
           for sc in ctx.scores]
    return Verdicts.where(pd.Series(low, index=ctx.frame.index, dtype=bool),
                          DropReason.JUDGE_LOW_SCORE)


CHECK = Check(
    name="judge", stage="judge", order=2400, config=JudgeConfig,
    reasons=(DropReason.JUDGE_LOW_SCORE,), inputs=("scores",), section="judge",
    level="pair", run=_low_score,
)
