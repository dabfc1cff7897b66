"""How far a judge agrees with a person: pure statistics over keep/drop decisions.

A judge is only as useful as its agreement with the people whose verdicts it stands in for.
Every number comes with a 95% interval, because a check on 30 reviewed records is noisy and
a point estimate alone reads as more certain than it is:

- proportions (raw agreement, precision and recall of the judge's drops): the Wilson score
  interval, which stays inside [0, 1] and behaves at 0 and n (the normal interval does not);
- Cohen's kappa: a percentile bootstrap over the reviewed records (2,000 resamples, fixed
  seed, so the same data always gives the same interval).

"Positive" is a drop: precision is the share of the judge's drops the person also dropped,
recall the share of the person's drops the judge caught. A number that cannot be computed
(no drops on one side, kappa when both sides make one and the same decision throughout) is
`None` with the reason, never a default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
KAPPA_METHOD = (f"percentile bootstrap over the reviewed records ({BOOTSTRAP_SAMPLES} "
                f"resamples, seed {BOOTSTRAP_SEED})")
PROPORTION_METHOD = "Wilson score interval"


@dataclass(frozen=True)
class Stat:
    """A number with its 95% interval, or None with the reason it cannot be computed."""

    value: float | None
    ci95: tuple[float, float] | None
    method: str
    k: int | None = None  # successes and trials, for a proportion
    n: int | None = None
    undefined: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None or k == "value"}
        if self.ci95 is not None:
            out["ci95"] = list(self.ci95)
        return out


@dataclass(frozen=True)
class Confusion:
    """Counts of the four combinations; a drop is the positive class."""

    both_drop: int  # true positives
    judge_drop_human_keep: int  # false positives
    judge_keep_human_drop: int  # false negatives
    both_keep: int  # true negatives

    @property
    def n(self) -> int:
        return self.both_drop + self.judge_drop_human_keep + self.judge_keep_human_drop \
            + self.both_keep


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of k successes in n trials (None for n = 0)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 and k = n the bound is exactly 0 or 1; rounding would put it a hair inside
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def proportion(k: int, n: int, *, undefined: str) -> Stat:
    """k of n with its Wilson interval; `undefined` says why when n is 0."""
    if n == 0:
        return Stat(None, None, PROPORTION_METHOD, k=k, n=n, undefined=undefined)
    return Stat(k / n, wilson(k, n), PROPORTION_METHOD, k=k, n=n)


def confusion(judge_drop: Sequence[bool] | np.ndarray,
              human_drop: Sequence[bool] | np.ndarray) -> Confusion:
    j = np.asarray(judge_drop, dtype=bool)
    h = np.asarray(human_drop, dtype=bool)
    if j.shape != h.shape:
        raise ValueError(f"{j.shape} judge decisions for {h.shape} human verdicts")
    return Confusion(both_drop=int((j & h).sum()), judge_drop_human_keep=int((j & ~h).sum()),
                     judge_keep_human_drop=int((~j & h).sum()), both_keep=int((~j & ~h).sum()))


def _kappas(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    """Cohen's kappa per row of counts; NaN where chance agreement is 1 (undefined)."""
    n = (tp + fp + fn + tn).astype(float)
    observed = (tp + tn) / n
    chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)


def kappa_value(c: Confusion) -> float | None:
    """Cohen's kappa, (observed - chance) / (1 - chance); None when chance agreement is 1."""
    if c.n == 0:
        return None
    k = float(_kappas(*(np.array([v]) for v in (c.both_drop, c.judge_drop_human_keep,
                                                 c.judge_keep_human_drop, c.both_keep)))[0])
    return None if math.isnan(k) else k


def kappa(judge_drop: Sequence[bool] | np.ndarray, human_drop: Sequence[bool] | np.ndarray, *,
          samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> Stat:
    """Cohen's kappa with its percentile-bootstrap 95% interval (resampling records). Resamples
    where kappa is undefined are left out of the interval and counted in the note."""
    j = np.asarray(judge_drop, dtype=bool)
    h = np.asarray(human_drop, dtype=bool)
    c = confusion(j, h)
    value = kappa_value(c)
    if value is None:
        if c.n == 0:
            why = "no record has both a judge score and a verdict"
        else:
            side = "dropped" if c.both_drop else "kept"
            why = (f"the judge and the reviewer {side} every one of the {c.n} records: with "
                   "no variation on either side, agreement beyond chance has no meaning")
        return Stat(None, None, KAPPA_METHOD, undefined=why)
    note = None
    if j.all() or not j.any() or h.all() or not h.any():
        who = "judge" if (j.all() or not j.any()) else "reviewer"
        note = (f"the {who} made the same decision on every record, so kappa is 0 by "
                "construction: it cannot agree beyond chance")
    rng = np.random.default_rng(seed)
    cell = (j.astype(np.int64) << 1) | h.astype(np.int64)  # 3 both drop, 2 fp, 1 fn, 0 keep
    picks = cell[rng.integers(0, len(cell), size=(samples, len(cell)))]
    counts = [(picks == v).sum(axis=1) for v in (3, 2, 1, 0)]
    boot = _kappas(*counts)
    defined = boot[~np.isnan(boot)]
    skipped = samples - len(defined)
    if skipped:
        extra = f"{skipped} of {samples} resamples had no kappa and are left out"
        note = f"{note}; {extra}" if note else extra
    if len(defined) == 0:
        return Stat(value, None, KAPPA_METHOD, undefined="no resample had a kappa", note=note)
    low, high = np.percentile(defined, [2.5, 97.5])
    return Stat(value, (float(low), float(high)), KAPPA_METHOD, note=note)


KAPPA_BANDS = ((0.0, "worse than chance"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
               (0.8, "substantial"), (math.inf, "almost perfect"))


def kappa_band(value: float | None) -> str | None:
    """Landis and Koch's words for a kappa (0.61-0.80 "substantial", ...): a common reading,
    not a law; the interval's ends may fall in other bands."""
    if value is None:
        return None
    if value < 0:
        return KAPPA_BANDS[0][1]
    return next(word for top, word in KAPPA_BANDS[1:] if value <= top)


def agreement(c: Confusion) -> Stat:
    return proportion(c.both_drop + c.both_keep, c.n,
                      undefined="no record has both a judge score and a verdict")


def drop_precision(c: Confusion) -> Stat:
    """Of the records the judge dropped, the share the reviewer dropped too."""
    return proportion(c.both_drop, c.both_drop + c.judge_drop_human_keep,
                      undefined="the judge dropped none of these records")


def drop_recall(c: Confusion) -> Stat:
    """Of the records the reviewer dropped, the share the judge dropped too."""
    return proportion(c.both_drop, c.both_drop + c.judge_keep_human_drop,
                      undefined="the reviewer dropped none of these records")


def threshold_scan(scores: Sequence[float] | np.ndarray, human_drop: Sequence[bool] | np.ndarray,
                   thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """For each threshold (keep at score >= threshold): the judge's drops, agreement, kappa."""
    s = np.asarray(scores, dtype=float)
    h = np.asarray(human_drop, dtype=bool)
    rows = []
    for t in thresholds:
        c = confusion(s < t, h)
        rows.append({"threshold": t, "judge_drops": c.both_drop + c.judge_drop_human_keep,
                     "agreement": (c.both_drop + c.both_keep) / c.n if c.n else None,
                     "kappa": kappa_value(c)})
    return rows


def best_threshold(rows: list[dict[str, Any]], current: float) -> dict[str, Any]:
    """The scanned threshold with the highest agreement; ties go to the higher kappa (an
    undefined kappa ranks last), then to the threshold nearest the current one."""
    def rank(r: dict[str, Any]) -> tuple[float, float, float]:
        kap = r["kappa"] if r["kappa"] is not None else -math.inf
        return (r["agreement"] if r["agreement"] is not None else -math.inf, kap,
                -abs(r["threshold"] - current))
    return max(rows, key=rank)


def position_bias(verdicts: Sequence[tuple[str | None, str | None]]) -> dict[str, Any]:
    """Position bias of a pairwise judge asked each comparison in both orders: `verdicts` holds
    ("A"/"B"/None with X first, the same with Y first). Over the comparisons answered both
    times: the share whose winner flips with the order (the judge named the same position
    twice), and the share of verdicts that went to the first position (0.5 when unbiased)."""
    both = [(a, b) for a, b in verdicts if a in ("A", "B") and b in ("A", "B")]
    flips = sum(a == b for a, b in both)
    first = sum((a == "A") + (b == "A") for a, b in both)
    why = "no comparison was answered in both orders"
    return {"comparisons": len(verdicts), "answered_both_orders": len(both),
            "winner_flips": proportion(flips, len(both), undefined=why).as_json(),
            "first_position_wins": proportion(first, 2 * len(both), undefined=why).as_json()}
