"""Surplus over a seed's target, in the final pass only: at most `target` answered pairs per
seed stay kept, in generation order; instructions still unanswered when the target was met
are surplus too. They stay in the run folder: a later run with a larger target keeps them."""

from __future__ import annotations

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.reasons import DropReason


def cut(seeds: pd.Series, answered: pd.Series, targets: dict[str, int]) -> pd.Series:
    """Records past their seed's target, in order, and unanswered ones (each record's seed
    id, and whether it has a response)."""
    rank = answered.astype(int).groupby(seeds).cumsum()
    target = seeds.map(targets).fillna(0)
    return (answered & (rank > target)) | ~answered


def _surplus(ctx: Context) -> Verdicts:
    return Verdicts.where(cut(ctx.frame["seed_id"], ctx.texts.answered, ctx.targets or {}),
                          DropReason.SURPLUS)


CHECK = Check(
    name="surplus", stage="target", order=2900,
    reasons=(DropReason.SURPLUS,), inputs=("seed_id", "response"),
    section=None, level="instruction", run=_surplus, active=lambda ctx: ctx.targets is not None,
)
